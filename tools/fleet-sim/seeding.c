/* seeding.c — seed and load between PostgreSQL and the simulated fleet (seeding.h). */
#include "seeding.h"

#include "log.h"
#include "sim_database.h"
#include "sim_random.h"
#include "timeutil.h"

#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

json_t *seeding_seed(sim_fleet *fleet, PGconn *connection, const admin_seed_command *command,
                     int64_t default_batch_size, sim_metrics *metrics, admin_error *error)
{
    int64_t batch_size = command->batch_size > 0 ? command->batch_size : default_batch_size;
    if (batch_size <= 0) {
        batch_size = 10000;
    }
    size_t batch_capacity = (size_t)(batch_size < command->count ? batch_size : command->count);
    sim_seed_row *rows = calloc(batch_capacity, sizeof *rows);
    json_t *workspace_ids = command->return_ids ? json_array() : NULL;
    if (rows == NULL || (command->return_ids && workspace_ids == NULL)) {
        free(rows);
        json_decref(workspace_ids);
        admin_error_set(error, ADMIN_ERROR_INTERNAL, "out of memory for a batch of %zu rows",
                        batch_capacity);
        return NULL;
    }
    int64_t started_ms = time_now_monotonic_ms();
    fleet_random *random = sim_random_thread();
    int64_t created = 0;
    int64_t batches = 0;
    while (created < command->count) {
        size_t count = (size_t)(command->count - created);
        if (count > batch_capacity) {
            count = batch_capacity;
        }
        for (size_t i = 0; i < count; i++) {
            uuid_t uuid;
            uuid_generate_random(uuid);
            uuid_unparse_lower(uuid, rows[i].workspace_id);
            fleet_make_instance_id(random, rows[i].instance_id, sizeof rows[i].instance_id);
        }
        char detail[512] = "";
        sim_database_error database_error = sim_database_copy_rows(
            connection, rows, count, command->status,
            command->runtime_is_null ? NULL : command->runtime, detail, sizeof detail);
        if (database_error != SIM_DATABASE_OK) {
            log_error("seed batch failed", "{s:I, s:s, s:s}", "created_before", (json_int_t)created,
                      "error", sim_database_error_name(database_error), "detail", detail);
            admin_error_set(error, ADMIN_ERROR_DATABASE_ERROR,
                            "COPY of batch %lld failed after %lld rows were created: %.300s",
                            (long long)batches + 1, (long long)created, detail);
            free(rows);
            json_decref(workspace_ids);
            return NULL;
        }
        int64_t now_ms = time_now_wall_ms();
        for (size_t i = 0; i < count; i++) {
            fleet_error fleet_failure = fleet_upsert(
                fleet, rows[i].workspace_id, rows[i].instance_id, command->state, now_ms, NULL);
            if (fleet_failure != FLEET_OK) {
                admin_error_set(error, ADMIN_ERROR_INTERNAL,
                                "rows were created but the fleet refused one: %s",
                                fleet_error_name(fleet_failure));
                free(rows);
                json_decref(workspace_ids);
                return NULL;
            }
            if (workspace_ids != NULL) {
                json_array_append_new(workspace_ids, json_string(rows[i].workspace_id));
            }
        }
        created += (int64_t)count;
        batches++;
        metrics_counter_add(metrics->seeded_workspaces, count);
    }
    free(rows);
    int64_t elapsed_ms = time_now_monotonic_ms() - started_ms;
    log_info("seeded workspaces", "{s:I, s:I, s:I}", "count", (json_int_t)created, "batches",
             (json_int_t)batches, "elapsed_ms", (json_int_t)elapsed_ms);
    json_t *answer =
        json_pack("{s:I, s:I, s:I, s:I, s:s, s:s, s:o}", "created", (json_int_t)created, "batches",
                  (json_int_t)batches, "batch_size", (json_int_t)batch_size, "elapsed_ms",
                  (json_int_t)elapsed_ms, "status", command->status, "state",
                  instance_state_name(command->state), "runtime",
                  command->runtime_is_null ? json_null() : json_string(command->runtime));
    if (answer != NULL && workspace_ids != NULL) {
        json_object_set_new(answer, "workspace_ids", workspace_ids);
    } else {
        json_decref(workspace_ids);
    }
    return answer;
}

typedef struct {
    sim_fleet *fleet;
    int64_t now_ms;
    int64_t rows;
    int64_t created;
    int64_t updated;
    int64_t unchanged;
    int64_t skipped;
} load_counts;

static bool load_row(const char *workspace_id, const char *instance_id, void *context)
{
    load_counts *counts = context;
    counts->rows++;
    if (!fleet_id_is_valid(workspace_id) || !fleet_id_is_valid(instance_id)) {
        counts->skipped++;
        return true;
    }
    char current[FLEET_ID_MAX + 1];
    if (fleet_current_instance(counts->fleet, workspace_id, current)) {
        if (strcmp(current, instance_id) == 0) {
            counts->unchanged++;
            return true;
        }
        counts->updated++;
    } else {
        counts->created++;
    }
    if (fleet_upsert(counts->fleet, workspace_id, instance_id, INSTANCE_STATE_RUNNING,
                     counts->now_ms, NULL) != FLEET_OK) {
        counts->skipped++;
    }
    return true;
}

json_t *seeding_load(sim_fleet *fleet, PGconn *connection, admin_error *error)
{
    load_counts counts = {.fleet = fleet, .now_ms = time_now_wall_ms()};
    char detail[512] = "";
    sim_database_error database_error =
        sim_database_each_online(connection, 10000, load_row, &counts, detail, sizeof detail);
    if (database_error != SIM_DATABASE_OK) {
        admin_error_set(error, ADMIN_ERROR_DATABASE_ERROR,
                        "reading online rows failed after %lld rows: %.300s",
                        (long long)counts.rows, detail);
        return NULL;
    }
    log_info("loaded online rows", "{s:I, s:I, s:I, s:I, s:I}", "rows", (json_int_t)counts.rows,
             "created", (json_int_t)counts.created, "updated", (json_int_t)counts.updated,
             "unchanged", (json_int_t)counts.unchanged, "skipped", (json_int_t)counts.skipped);
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "rows", (json_int_t)counts.rows, "created",
                     (json_int_t)counts.created, "updated", (json_int_t)counts.updated, "unchanged",
                     (json_int_t)counts.unchanged, "skipped", (json_int_t)counts.skipped);
}
