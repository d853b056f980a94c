"""Every long-running program's standard series (docs/deployment.md, "Build and
process metrics"): reconciler_build_info{version,revision} 1, process_start_time_seconds,
process_open_fds and process_max_fds, scraped from the real /metrics of the producer, a
checker, the actuator and fleet-sim. Their secrets come from files (<NAME>_FILE, as the Helm
chart mounts them), so this also runs the programs end to end on file secrets."""

import re
import subprocess
import time

import harness

SHARED_SECRET = "process-metrics-shared"
RESTART_TOKEN = "process-metrics-restart"


def version_and_revision():
    line = subprocess.run([harness.binary("checker"), "--version"], check=True,
                          capture_output=True, text=True).stdout
    match = re.fullmatch(r"reconciler-checker (\S+) \(revision (\S+)\)\n", line)
    assert match, line
    return match.group(1), match.group(2)


def secret_file(tmp_path, name, value):
    path = tmp_path / name
    path.write_text(value + "\n")  # a trailing newline, as `echo` and editors write it
    return str(path)


def test_every_program_exports_build_and_process_series(topics, processes, tmp_path):
    version, revision = version_and_revision()
    with harness.fresh_database() as url:
        database_file = secret_file(tmp_path, "database-url", url)
        sim_port = harness.free_port()
        ports = {name: harness.free_port() for name in ("producer", "checker", "actuator", "fleet-sim")}
        # DATABASE_URL is set by the test stack: emptied, so that only the file supplies it.
        common = {**topics["env"], "DATABASE_URL": "", "LOG_LEVEL": "info"}
        sim_url = f"http://127.0.0.1:{sim_port}"
        programs = {
            "fleet-sim": {"FLEETSIM_ADDR": f"127.0.0.1:{sim_port}",
                          "DATABASE_URL_FILE": database_file,
                          "FLEETSIM_CP_SHARED_SECRET_FILE": secret_file(tmp_path, "cp", SHARED_SECRET),
                          "FLEETSIM_RESTART_TOKEN_FILE": secret_file(tmp_path, "rt", RESTART_TOKEN)},
            "producer": {"DATABASE_URL_FILE": database_file, "PRODUCER_INTERVAL": "1s"},
            "checker": {"CP_URL": sim_url,
                        "CP_SHARED_SECRET_FILE": secret_file(tmp_path, "cp2", SHARED_SECRET)},
            "actuator": {"DATABASE_URL_FILE": database_file, "CP_URL": sim_url,
                         "RESTART_URL": sim_url + "/workspaces/{id}/restart",
                         "RESTART_TOKEN_FILE": secret_file(tmp_path, "rt2", RESTART_TOKEN)},
        }
        started = time.time()
        for name, env in programs.items():
            process = harness.Process(name, {**common, **env,
                                                "METRICS_ADDR": f"127.0.0.1:{ports[name]}"}, name=name)
            processes.append(process)

        def ready(name, process):
            assert process.alive(), process.log_text()
            return harness.http_get(f"http://127.0.0.1:{ports[name]}/readyz", timeout=1.0)[0] == 200

        for name, process in zip(programs, processes):
            harness.wait_until(lambda: ready(name, process), timeout=60 * harness.TIMEOUT_SCALE,
                               message=f"{name} /readyz")
            status, text = harness.http_get(f"http://127.0.0.1:{ports[name]}/metrics")
            assert status == 200, name
            assert harness.metric_value(text, "reconciler_build_info",
                                        {"version": version, "revision": revision}) == 1, (name, text)
            start = harness.metric_value(text, "process_start_time_seconds")
            assert start is not None and started - 5 <= start <= time.time(), (name, start)
            open_fds = harness.metric_value(text, "process_open_fds")
            assert open_fds is not None and 3 <= open_fds, (name, open_fds)
            max_fds = harness.metric_value(text, "process_max_fds")
            assert max_fds is not None and max_fds >= open_fds, (name, max_fds)
