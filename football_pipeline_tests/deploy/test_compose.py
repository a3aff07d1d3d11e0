"""The Docker Compose deployment, checked structurally (no Docker engine is needed): the services the
deployment consists of, their healthchecks and start order, every variable documented in .env.example,
no secret in the repository, and the warehouse initialised from sql/."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SERVICES = {"timescaledb", "mlflow", "code", "webserver", "daemon", "metrics"}
# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}, $VAR; $$ is a literal $.
VARIABLE = re.compile(r"(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(?::?[-?])[^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))")
SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY", re.IGNORECASE)
URL_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://([^:/@\s]+):([^@\s]+)@", re.IGNORECASE)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _env_example() -> dict[str, str]:
    out = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            out[name.strip()] = value.strip()
    return out


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {k: str(v) for k, v in env.items()}


def _command(service: dict) -> list[str]:
    command = service.get("command", "")
    return command if isinstance(command, list) else shlex.split(command.replace("\n", " "))


def _strings(node) -> list[str]:
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return [node] if isinstance(node, str) else []


def test_the_deployment_services(compose):
    assert set(compose["services"]) == SERVICES
    services = compose["services"]
    assert services["timescaledb"]["image"].startswith("timescale/timescaledb:")
    # one image for the Dagster processes and the metrics endpoint, built from this repository
    for name in ("code", "webserver", "daemon", "metrics"):
        assert services[name]["build"] == {"context": ".", "dockerfile": "docker/Dockerfile"}, name
    assert (ROOT / "docker/Dockerfile").is_file()


def test_every_service_has_a_healthcheck(compose):
    for name, service in compose["services"].items():
        check = service.get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no healthcheck"
        test = check["test"]
        assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name
        assert check.get("interval") and check.get("retries"), name


def test_start_order_waits_for_health(compose):
    services = compose["services"]
    needs = {name: service.get("depends_on", {}) for name, service in services.items()}
    for name in ("mlflow", "code", "metrics"):
        assert needs[name]["timescaledb"] == {"condition": "service_healthy"}, name
    for name in ("webserver", "daemon"):
        assert needs[name]["code"] == {"condition": "service_healthy"}, name


def test_mlflow_tracking_server_on_postgresql_with_an_artifact_volume(compose):
    mlflow = compose["services"]["mlflow"]
    command = _command(mlflow)
    script = " ".join(command)
    assert "mlflow server" in script
    backend = re.search(r"--backend-store-uri\s+(\S+)", script).group(1)
    assert backend.startswith("postgresql://") and "@timescaledb:5432/" in backend
    artifacts = re.search(r"--artifacts-destination\s+(\S+)", script).group(1)
    mounts = {m.split(":")[1]: m.split(":")[0] for m in mlflow["volumes"]}
    assert mounts[artifacts] in compose["volumes"], "artifacts must live on a named volume"
    # the backend database exists: created by the init script the DB container runs
    database = backend.rsplit("/", 1)[1]
    assert compose["services"]["timescaledb"]["environment"]["MLFLOW_POSTGRES_DB"] == database
    assert "MLFLOW_POSTGRES_DB" in (ROOT / "docker/initdb/00-databases.sh").read_text()
    dagster_env = _environment(compose["services"]["code"])
    assert dagster_env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert "--port 5000" in script


def test_dagster_code_location_webserver_and_daemon(compose):
    services = compose["services"]
    code = _command(services["code"])
    assert code[:3] == ["dagster", "code-server", "start"]
    port = code[code.index("-p") + 1]
    assert code[code.index("-m") + 1] == "football_pipeline.definitions"
    workspace = yaml.safe_load((ROOT / "docker/workspace.yaml").read_text())
    grpc = workspace["load_from"][0]["grpc_server"]
    assert (grpc["host"], str(grpc["port"])) == ("code", port)
    assert services["code"]["healthcheck"]["test"][1:4] == ["dagster", "api", "grpc-health-check"]
    for name, binary in (("webserver", "dagster-webserver"), ("daemon", "dagster-daemon")):
        command = _command(services[name])
        assert command[0] == binary and command[command.index("-w") + 1] == "/opt/dagster/workspace.yaml"
        assert "./docker/workspace.yaml:/opt/dagster/workspace.yaml:ro" in services[name]["volumes"]
    assert services["daemon"]["healthcheck"]["test"][1:] == ["dagster-daemon", "liveness-check"]
    # every Dagster process reads the same instance: PostgreSQL storage from the environment
    instance = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    wanted = {v["env"] for v in instance["storage"]["postgres"]["postgres_db"].values() if isinstance(v, dict)}
    assert wanted == {f"DAGSTER_POSTGRES_{k}" for k in ("HOST", "PORT", "DB", "USER", "PASSWORD")}
    for name in ("code", "webserver", "daemon"):
        env = _environment(services[name])
        assert wanted <= set(env), f"{name} lacks {wanted - set(env)}"
        assert env["DAGSTER_POSTGRES_HOST"] == "timescaledb" and env["DAGSTER_HOME"] == "/opt/dagster/dagster_home"
    assert 'COPY dagster.yaml "$DAGSTER_HOME/dagster.yaml"' in (ROOT / "docker/Dockerfile").read_text()


def test_every_pipeline_setting_reaches_the_processes_that_run_the_assets(compose):
    # .env only feeds compose's own ${...}: a setting reaches a container only through its environment.
    settings = {name for name in _env_example() if name.startswith(("FOOTBALL_", "WAREHOUSE_URL", "MLFLOW_"))}
    for name in ("code", "daemon"):
        env = _environment(compose["services"][name])
        assert settings - set(env) == set(), f"{name} never sees {sorted(settings - set(env))}"
        for variable in settings - {"WAREHOUSE_URL", "MLFLOW_TRACKING_URI"}:
            assert VARIABLE.fullmatch(env[variable]), f"{name}: {variable} is not taken from .env"
    env = _environment(compose["services"]["code"])
    # A deployment refits every matchweek (the default; `make run` walks monthly to stay short).
    assert env["FOOTBALL_MODELS_CADENCE"] == "${FOOTBALL_MODELS_CADENCE:-matchweek}"
    assert env["FOOTBALL_SOURCE_MODE"] == "${FOOTBALL_SOURCE_MODE:-bundled}"


def test_scraped_files_and_the_raw_archive_outlive_the_containers(compose):
    state = _environment(compose["services"]["code"])["FOOTBALL_PIPELINE_STATE_DIR"]
    folder = re.fullmatch(r"\$\{FOOTBALL_PIPELINE_STATE_DIR:-(/[^}]+)\}", state).group(1)
    for name in ("code", "daemon"):
        mounts = dict(m.split(":")[1::-1] for m in compose["services"][name]["volumes"])
        assert mounts.get(folder) in compose["volumes"], f"{name}: {folder} is not on a named volume"


def test_metrics_service_serves_the_warehouse_metrics(compose):
    metrics = compose["services"]["metrics"]
    command = _command(metrics)
    assert command[:3] == ["python", "-m", "football_pipeline.serving.metrics"]
    port = command[command.index("--port") + 1]
    assert f"127.0.0.1:{port}:{port}" in metrics["ports"]
    assert f"localhost:{port}/metrics" in metrics["healthcheck"]["test"][1]
    assert _environment(metrics)["WAREHOUSE_URL"].startswith("postgresql://")
    assert "@timescaledb:5432/" in _environment(metrics)["WAREHOUSE_URL"]


def test_every_variable_is_in_env_example():
    documented = _env_example()
    used = {a or b for a, b in VARIABLE.findall(COMPOSE.read_text(encoding="utf-8"))}
    assert {"POSTGRES_USER", "POSTGRES_PASSWORD"} <= used
    assert used - set(documented) == set(), "document these in .env.example"


def test_no_secret_in_the_repository(compose):
    for text in _strings(compose):
        for user, password in URL_CREDENTIALS.findall(text):
            assert VARIABLE.fullmatch(password), f"literal password in a URL: {text}"
            assert VARIABLE.fullmatch(user), f"literal user in a URL: {text}"

    def walk(node, path=""):
        if isinstance(node, dict):
            for key, value in node.items():
                if SECRET_KEY.search(str(key)) and not isinstance(value, dict | list):
                    assert VARIABLE.fullmatch(str(value).strip()), f"{path}{key} is set literally"
                walk(value, f"{path}{key}.")
        elif isinstance(node, list):
            for item in node:
                if isinstance(item, str) and "=" in item and SECRET_KEY.search(item.partition("=")[0]):
                    assert VARIABLE.fullmatch(item.partition("=")[2].strip()), f"{path}{item} is set literally"
                walk(item, path)

    walk(compose)
    # .env.example only holds placeholders, and .env itself is never committed
    for name, value in _env_example().items():
        if SECRET_KEY.search(name):
            assert value in ("", "change-me"), f".env.example: {name} must be a placeholder"
    ignored = (ROOT / ".gitignore").read_text().split()
    assert ".env" in ignored


def test_the_warehouse_is_initialised_from_sql(compose):
    db = compose["services"]["timescaledb"]
    mounts = dict(reversed(m.split(":")[:2]) for m in db["volumes"])
    init_dir = Path(mounts["/docker-entrypoint-initdb.d"])
    assert init_dir == Path("./docker/initdb")
    sql_mount = next(target for target, source in mounts.items() if Path(source) == Path("./sql"))
    scripts = sorted((ROOT / init_dir).glob("*.sh"))
    runner = next(s for s in scripts if f"{sql_mount}/*.sql" in s.read_text())
    text = runner.read_text()
    assert "ON_ERROR_STOP=1" in text and '--dbname "$POSTGRES_DB"' in text
    # databases for Dagster and MLflow first, then the warehouse DDL in file order
    assert scripts.index(runner) > scripts.index(ROOT / init_dir / "00-databases.sh")
    files = sorted(p.name for p in (ROOT / "sql").glob("*.sql"))
    assert files[0] == "001_extensions.sql" and files[-1] == "099_alembic_version.sql"
    assert all(re.fullmatch(r"\d{3}_[a-z0-9_]+\.sql", f) for f in files)
