/* sim_settings.c — fleet-sim's settings table and its manual (--help). See sim_settings.h. */
#include "sim_settings.h"

#include <stddef.h>

#define HINT_PERCENT_SETTING(env, field, what)                                                     \
    {                                                                                              \
        .env_name = (env), .type = CONFIG_TYPE_INTEGER,                                            \
        .offset = offsetof(fleet_sim_settings, hints.field), .default_text = "0", .minimum = 0,    \
        .maximum = 100, .help = (what)                                                             \
    }

static const config_setting fleet_sim_settings_table[] = {
    {.env_name = "FLEETSIM_ADDR",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(fleet_sim_settings, address),
     .default_text = "127.0.0.1:8090",
     .required = true,
     .help = "host:port serving the CP status API, the restart API, /admin, /metrics (IPv4, "
             "localhost or [IPv6]; port 0 picks a free one, logged at start); loopback by "
             "default because the admin API changes everything"},
    {.env_name = "DATABASE_URL",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(fleet_sim_settings, database_url),
     .secret = true,
     .help = "PostgreSQL with the workspaces table, for reprovision write-back, seed and "
             "load-from-db; unset = the simulated fleet only (secret: may hold a password)"},
    {.env_name = "FLEETSIM_CP_SHARED_SECRET",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(fleet_sim_settings, cp_shared_secret),
     .secret = true,
     .help = "when set, status requests need 'Authorization: Bearer <it>' (else 401), like "
             "the checker's CP_SHARED_SECRET"},
    {.env_name = "FLEETSIM_CP_ADMIN_TOKEN",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(fleet_sim_settings, cp_admin_token),
     .secret = true,
     .help = "when set, status requests need 'X-Molecule-Admin-Token: <it>' (else 401), like "
             "the checker's CP_ADMIN_TOKEN"},
    {.env_name = "FLEETSIM_RESTART_TOKEN",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(fleet_sim_settings, restart_token),
     .secret = true,
     .help = "when set, restart requests need 'Authorization: Bearer <it>' (else 401), like "
             "the actuator's RESTART_TOKEN"},
    {.env_name = "FLEETSIM_ADMIN_TOKEN",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(fleet_sim_settings, admin_token),
     .secret = true,
     .help = "when set, /admin requests need 'Authorization: Bearer <it>' (else 401); also "
             "sent by the seed sub-command"},
    {.env_name = "FLEETSIM_REPROVISION_DELAY",
     .type = CONFIG_TYPE_DURATION,
     .offset = offsetof(fleet_sim_settings, reprovision_delay_ms),
     .default_text = "2s",
     .minimum = 0,
     .maximum = 24LL * 3600 * 1000,
     .help = "time from an accepted restart to the new instance running and the row back "
             "online; 2s is long enough to observe the offline window, short enough for tests; "
             "POST /admin/config changes it at run time"},
    {.env_name = "FLEETSIM_THREADS",
     .type = CONFIG_TYPE_INTEGER,
     .offset = offsetof(fleet_sim_settings, threads),
     .default_text = "1",
     .minimum = 1,
     .maximum = 64,
     .help = "HTTP event-loop threads; 1 so the one-core throughput figure is measured as "
             "such; delayed requests never take a thread"},
    {.env_name = "FLEETSIM_CONNECTION_LIMIT",
     .type = CONFIG_TYPE_INTEGER,
     .offset = offsetof(fleet_sim_settings, connection_limit),
     .default_text = "20000",
     .minimum = 16,
     .maximum = 1000000,
     .help = "open connections held at most (held requests included); the open-files limit "
             "is raised to fit at start"},
    {.env_name = "FLEETSIM_HANG_CAP",
     .type = CONFIG_TYPE_DURATION,
     .offset = offsetof(fleet_sim_settings, hang_cap_ms),
     .default_text = "10m",
     .minimum = 1000,
     .maximum = 24LL * 3600 * 1000,
     .help = "longest a hang fault holds a request before closing it unanswered (a client "
             "that gives up earlier is noticed within a second)"},
    {.env_name = "FLEETSIM_SEED_BATCH",
     .type = CONFIG_TYPE_INTEGER,
     .offset = offsetof(fleet_sim_settings, seed_batch_size),
     .default_text = "10000",
     .minimum = 1,
     .maximum = 100000,
     .help = "rows per COPY when seeding; 10,000 keeps each statement short and 100,000 rows "
             "within seconds"},
    {.env_name = "FLEETSIM_LOAD_ON_START",
     .type = CONFIG_TYPE_BOOL,
     .offset = offsetof(fleet_sim_settings, load_on_start),
     .default_text = "false",
     .help = "register every online row with an instance as running before serving (re-sync "
             "after a simulator restart); needs DATABASE_URL"},
    {.env_name = "LOG_LEVEL",
     .type = CONFIG_TYPE_LOG_LEVEL,
     .offset = offsetof(fleet_sim_settings, log_level),
     .default_text = "info",
     .help = "debug, info, warn or error; info logs admin changes and reprovisions, never "
             "each status request"},
    {.env_name = "METRICS_ADDR",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(fleet_sim_settings, metrics_address),
     .default_text = CONFIG_METRICS_ADDR_FLEET_SIM,
     .help = "host:port for a second /metrics, /healthz, /readyz listener like every program "
             "has; empty = none (FLEETSIM_ADDR serves them too)"},
    {.env_name = "FLEETSIM_HINT_URL",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(fleet_sim_settings, hint_url),
     .default_text = "",
     .help = "where to POST an EventBridge 'EC2 Instance State-change Notification' for each "
             "instance /admin/terminate stops (the producer's hint endpoint, e.g. "
             "http://127.0.0.1:9105/hints); empty = announce nothing"},
    {.env_name = "FLEETSIM_HINT_TOKEN",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(fleet_sim_settings, hint_token),
     .default_text = "",
     .secret = true,
     .help = "sent as 'Authorization: Bearer <it>' with every announcement (the producer's "
             "PRODUCER_HINT_TOKEN)"},
    HINT_PERCENT_SETTING("FLEETSIM_HINT_DROP_PERCENT", drop_percent,
                         "percent of terminations never announced (the sweep must catch them); "
                         "/admin/terminate's hint_drop_percent overrides it per command"),
    HINT_PERCENT_SETTING("FLEETSIM_HINT_DUPLICATE_PERCENT", duplicate_percent,
                         "percent of announcements sent twice (one flip must come of them); "
                         "hint_duplicate_percent per command"),
    HINT_PERCENT_SETTING("FLEETSIM_HINT_FORGE_PERCENT", forge_percent,
                         "percent of terminations that also announce a random *running* "
                         "instance as terminated (must never flip); hint_forge_percent per "
                         "command"),
    {.env_name = "FLEETSIM_HINT_DELAY",
     .type = CONFIG_TYPE_DURATION,
     .offset = offsetof(fleet_sim_settings, hints.delay_ms),
     .default_text = "0",
     .minimum = 0,
     .maximum = 600000,
     .help = "how long every announcement waits after its termination (a late event); "
             "hint_delay_ms per command"},
};

static const char fleet_sim_summary[] =
    "A simulated control plane (CP) and workspace server for the dev stack, tests and\n"
    "benchmarks. It serves the CP status API (GET /cp/workspaces/{id}/status?instance_id=)\n"
    "and the restart API (POST /workspaces/{id}/restart) for a fleet of simulated instances,\n"
    "with faults injected per request at run time through an admin API (/admin, JSON).\n"
    "A restart reprovisions like the real workspace server: after FLEETSIM_REPROVISION_DELAY\n"
    "the workspace gets a new running instance and its row is set back online with the new\n"
    "instance_id in PostgreSQL. Delayed and hanging requests are held without a thread each.\n"
    "\n"
    "Sub-command: fleet-sim seed --count N [--url URL] [--runtime R] [--batch-size B]\n"
    "  calls POST /admin/seed of a running simulator (default URL http://127.0.0.1:8090,\n"
    "  token from FLEETSIM_ADMIN_TOKEN) and prints its JSON answer.";

static const char fleet_sim_examples[] =
    "  fleet-sim --fleetsim-addr 127.0.0.1:8090 --database-url \"$DATABASE_URL\"\n"
    "  S=http://127.0.0.1:8090   # and add -H \"Authorization: Bearer $FLEETSIM_ADMIN_TOKEN\" when "
    "set\n"
    "\n"
    "CP status API (what the checker calls):\n"
    "  curl \"$S/cp/workspaces/$W/status?instance_id=$I\"\n"
    "    200 {\"state\":\"running\",\"instance_id\":\"i-...\"}   the instance's state (pending,\n"
    "        running, stopping, stopped, shutting-down, terminated)\n"
    "    200 {\"state\":\"terminated\",...}  for an instance the workspace has been moved off\n"
    "    404 workspace_not_found | instance_not_found; 400 missing_instance_id; 401 unauthorized\n"
    "Restart API (what the actuator calls):\n"
    "  curl -X POST -d '{}' \"$S/workspaces/$W/restart\"\n"
    "    202 {\"status\":\"accepted\",...}; 404 workspace_not_found; 401 unauthorized\n"
    "\n"
    "Admin API (JSON in and out; every answer carries \"faults_in_force\"; a bad request is\n"
    "400 {\"error\":\"<code>\",\"message\":\"...\"}, an unknown workspace or fault 404):\n"
    "  curl $S/admin/state                         counts by state, faults, config, counters\n"
    "  curl -X POST $S/admin/seed -d '{\"count\":100000,\"runtime\":\"docker\"}'\n"
    "      rows in PostgreSQL (status online, runtime, one instance each) + running instances;\n"
    "      optional: status, state, batch_size, return_ids (list the workspace ids)\n"
    "  curl -X POST $S/admin/load-from-db          register online rows as running instances\n"
    "  curl -X POST $S/admin/instances -d "
    "'{\"instances\":[{\"workspace_id\":\"w1\",\"instance_id\":\"i-1\",\"state\":\"running\"}]}'\n"
    "  curl \"$S/admin/instances?state=terminated&limit=100&offset=0\"\n"
    "  curl $S/admin/instances/$W                  requests, last answer, restarts, history\n"
    "  curl -X PUT $S/admin/instances/$W -d '{\"state\":\"stopped\"}'   (+ \"instance_id\" to "
    "move)\n"
    "  curl -X DELETE $S/admin/instances/$W        (DELETE $S/admin/instances: all)\n"
    "  curl -X POST $S/admin/terminate -d '{\"count\":50}'\n"
    "  curl -X POST $S/admin/terminate -d '{\"percent\":10,\"state\":\"stopped\",\"seed\":7}'\n"
    "  curl -X POST $S/admin/terminate -d '{\"count\":5,\"hint_drop_percent\":100}'\n"
    "        (with FLEETSIM_HINT_URL: also hint_duplicate_percent, hint_forge_percent,\n"
    "        hint_delay_ms; the answer counts the announcements in \"hints\")\n"
    "      exactly that many running instances (percent of running, rounded down) change\n"
    "      state; the answer lists their workspace_ids and instance_ids\n"
    "  curl -X POST $S/admin/faults -d "
    "'{\"mode\":\"latency\",\"fixed_ms\":2000,\"target\":{\"all\":true}}'\n"
    "  curl -X POST $S/admin/faults -d "
    "'{\"mode\":\"status\",\"code\":503,\"target\":{\"percent\":10}}'\n"
    "  curl -X POST $S/admin/faults -d "
    "'{\"mode\":\"reset\",\"endpoint\":\"restart\",\"times\":3}'\n"
    "  curl $S/admin/faults;  curl -X DELETE $S/admin/faults/1;  curl -X DELETE $S/admin/faults\n"
    "  curl -X POST $S/admin/config -d '{\"reprovision_delay_ms\":500}'\n"
    "  curl -X POST $S/admin/reset                 forget instances, faults, pending reprovisions\n"
    "\n"
    "Fault rule fields: mode (required); endpoint status (default) | restart | any;\n"
    "  target {\"all\":true} (default) | {\"workspace_id\":W} | {\"instance_id\":I} |\n"
    "  {\"share\":0..1} | {\"percent\":0..100} (+ \"salt\"): a share is fixed per instance id\n"
    "  (hash), the same instances every sweep; probability 0..1 (default 1, drawn per request);\n"
    "  times N (expires after N hits); fixed_ms, jitter_ms (added before any mode's answer);\n"
    "  perform_restart true|false (restart endpoint: default = performed iff the answer is 2xx).\n"
    "  When several rules match, the most specific target wins (instance > workspace > share\n"
    "  > all), then the newest.\n"
    "Fault modes and what they answer (2xx is 200 on status, 202 on restart):\n"
    "  latency               the normal answer after fixed_ms + uniform[0, jitter_ms]\n"
    "  hang                  no answer; the connection is closed after hang_ms (default\n"
    "                        FLEETSIM_HANG_CAP) or when the client gives up\n"
    "  status                code (400..599, required), {\"error\":\"injected_fault\",...}\n"
    "  redirect              code (300..308, default 302), Location: location (default\n"
    "                        /cp/redirected/terminated, which answers state terminated)\n"
    "  garbage               2xx, bytes that are not JSON\n"
    "  truncated             2xx, {\"state\":\"runn (cut \"body\", default), or cut \"transfer\":\n"
    "                        Content-Length of the whole object, half sent, connection closed\n"
    "  oversized             2xx, a valid {\"state\":\"running\",...,\"padding\":...} of bytes\n"
    "                        (default 70000, at least 65537)\n"
    "  empty_object          2xx, {}\n"
    "  missing_state         2xx, {\"instance_id\":...}\n"
    "  null_state            2xx, {\"state\":null,...}\n"
    "  wrong_type_state      2xx, {\"state\":1,...}\n"
    "  odd_state             2xx, {\"state\":<state, default \"pending\">,...}\n"
    "  duplicate_state_keys  2xx, {\"state\":<first_state>,\"state\":<second_state>,...}\n"
    "                        (defaults terminated, running)\n"
    "  array_body            2xx, [{\"state\":\"running\",...}]\n"
    "  trailing_data         2xx, {\"state\":\"terminated\",...}{\"state\":\"running\"}\n"
    "  content_type          the normal answer with Content-Type: content_type (text/html)\n"
    "  reset                 the connection is reset (TCP RST), no answer\n"
    "\n"
    "Metrics (GET /metrics here and on METRICS_ADDR): fleet_sim_status_requests_total{answer},\n"
    "  fleet_sim_restart_requests_total{answer}, fleet_sim_faults_applied_total{mode,endpoint},\n"
    "  fleet_sim_reprovisions_total{result}, fleet_sim_instances{state}, fleet_sim_held_requests,\n"
    "  fleet_sim_pending_reprovisions, fleet_sim_admin_requests_total{outcome}, ...\n";

const config_program fleet_sim_config_program = {
    .program_name = "fleet-sim",
    .summary = fleet_sim_summary,
    .examples = fleet_sim_examples,
    .settings = fleet_sim_settings_table,
    .setting_count = sizeof fleet_sim_settings_table / sizeof fleet_sim_settings_table[0],
    .accepts_kafka_properties = false,
};
