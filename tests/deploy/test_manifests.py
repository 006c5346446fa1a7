"""deploy/compose.yaml and deploy/k8s/, checked without a container engine or a cluster: the
compose file against the Compose specification (the compose-spec package's parser, which
refuses unknown keys and values), the manifests against Kubernetes' own schemas
(kubernetes-validate, strict: unknown fields refused) and built by `kubectl kustomize`; then
what the schemas cannot know: the services and what each waits for, the probes, the roles the
commands name (deploy/entrypoint's), the images' tags, the settings the application needs."""

import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from compose_spec import PyOptions

from tests.deploy.servers import ROOT, run

DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
REQUIRED = {"SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS"}
# Read from the environment by gunicorn itself, which takes an empty value as given (an empty
# WEB_CONCURRENCY stops it at import: int("")), not as "the default" as the application does.
READ_BY_GUNICORN = {"WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS", "PORT"}
# Oldest and newest Kubernetes the manifests are checked against (kubernetes-validate's own
# schemas, bundled with it).
KUBERNETES_VERSIONS = ("1.25.0", kubernetes_validate.latest_version())


def entrypoint_roles() -> set[str]:
    """The roles deploy/entrypoint names in its `case` (any other word is a manage.py command)."""
    text = (DEPLOY / "entrypoint").read_text()
    return set(re.findall(r"^  ([a-z]+)\)$", text, re.MULTILINE))


def graceful_timeout() -> int:
    match = re.search(
        r"^graceful_timeout = (\d+)$", (DEPLOY / "gunicorn.conf.py").read_text(), re.M
    )
    assert match, "deploy/gunicorn.conf.py sets graceful_timeout"
    return int(match[1])


def seconds(duration: str) -> int:
    match = re.fullmatch(r"(\d+)(s|m)", duration)
    assert match, duration
    return int(match[1]) * (60 if match[2] == "m" else 1)


# --- Compose ---------------------------------------------------------------------------------
def dotenv(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def commented_out(path: Path) -> set[str]:
    """The variables a `# NAME=` line names: documented, and left at their defaults."""
    return set(re.findall(r"^# ([A-Z][A-Z0-9_]*)=", path.read_text(), re.MULTILINE))


def interpolate(text: str, environment: dict[str, str]) -> str:
    """Compose's interpolation: ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error},
    and $$ for a dollar sign."""

    def substitute(match: re.Match[str]) -> str:
        if match[0] == "$$":
            return "$"
        name, operator, argument = match["name"], match["operator"], match["argument"] or ""
        value = environment.get(name)
        if operator == ":?":
            assert value, f"{name}: {argument}"
            return value
        if operator == ":-":
            return value or argument
        if operator == "-":
            return argument if value is None else value
        assert value is not None, f"{name} is not set"
        return value

    pattern = r"\$\$|\$\{(?P<name>\w+)(?:(?P<operator>:-|-|:\?)(?P<argument>[^}]*))?\}"
    return re.sub(pattern, substitute, text)


def compose_text(environment: dict[str, str] | None = None) -> str:
    example = dotenv(DEPLOY / ".env.example")
    return interpolate((DEPLOY / "compose.yaml").read_text(), environment or example)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(compose_text())  # PyYAML applies the << merge keys


def test_the_compose_file_follows_the_compose_specification() -> None:
    parsed = PyOptions(apply_merge=True).from_yaml(compose_text())
    parsed.validate()  # every network, volume, config and secret a service names is defined
    assert set(parsed.service_names()) == {
        "postgres",
        "redis",
        "migrate",
        "web",
        "worker",
        "proxy",
    }


@pytest.mark.parametrize(
    ("wrong", "right"),
    [
        ("condition: service_completed_successfully", "condition: service_completed"),
        ('restart: "no"', "restart: once"),
        ("interval: 5s", "interval: five"),
        ("stop_grace_period: 30s", "stop_grace_periods: 30s"),
    ],
)
def test_the_compose_check_refuses_what_the_specification_does(wrong: str, right: str) -> None:
    text = compose_text()
    assert wrong in text
    with pytest.raises(ValueError):  # noqa: PT011 (the parser's one error type)
        PyOptions(apply_merge=True).from_yaml(text.replace(wrong, right, 1)).validate()


def test_migrate_runs_once_before_web_and_worker(compose: dict[str, Any]) -> None:
    services = compose["services"]
    roles = entrypoint_roles()
    assert {"web", "worker", "migrate", "manage"} <= roles

    migrate = services["migrate"]
    assert migrate["restart"] == "no"
    assert "/app/deploy/entrypoint migrate" in " ".join(migrate["command"])
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    # Its last lines say how to make the first organization and key, with commands that exist.
    for command in ("create_organization", "create_api_key --organization"):
        assert command in " ".join(migrate["command"])
        assert list(ROOT.glob(f"apps/*/management/commands/{command.split()[0]}.py")), command

    for name in ("web", "worker"):
        service = services[name]
        assert service["command"] == [name]
        assert service["command"][0] in roles
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert seconds(service["stop_grace_period"]) > graceful_timeout()
        assert service["env_file"] == ".env"
    assert services["proxy"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert services["web"]["healthcheck"]["test"] == [
        "CMD",
        "/app/deploy/entrypoint",
        "healthcheck",
    ]
    assert "healthcheck)" in (DEPLOY / "entrypoint").read_text()


def test_postgres_redis_and_the_proxy(compose: dict[str, Any]) -> None:
    services = compose["services"]
    postgres = services["postgres"]
    assert re.fullmatch(r"postgres:\d+", postgres["image"])  # a major version, pinned
    volume = postgres["volumes"][0].split(":")
    assert volume == ["postgres-data", "/var/lib/postgresql/data"]
    assert "postgres-data" in compose["volumes"]
    # Over TCP: the image's temporary server of the first start (the unix socket only) must
    # not pass for the real one.
    assert postgres["healthcheck"]["test"] == [
        "CMD",
        "pg_isready",
        "-h",
        "127.0.0.1",
        f"--username={postgres['environment']['POSTGRES_USER']}",
        f"--dbname={postgres['environment']['POSTGRES_DB']}",
    ]
    assert services["redis"]["image"] == "redis:7"

    proxy = services["proxy"]
    assert re.fullmatch(r"nginx:1\.\d+", proxy["image"])
    assert proxy["ports"] == ["80:80", "443:443"]
    mounts = dict(volume.rsplit(":", 2)[:2] for volume in proxy["volumes"])
    assert mounts["./nginx/templates"] == "/etc/nginx/templates"
    assert (DEPLOY / "nginx" / "templates" / "default.conf.template").is_file()
    assert mounts["./nginx/certs"] == proxy["environment"]["NGINX_CERT_DIR"]
    # Every variable of the template is given, and the upstream is the web service's port.
    template = (DEPLOY / "nginx" / "templates" / "default.conf.template").read_text()
    assert set(re.findall(r"\$\{(\w+)\}", template)) == set(proxy["environment"])
    assert (
        proxy["environment"]["HYPERREP_UPSTREAM"]
        == "web:" + services["web"]["environment"]["BIND"].rsplit(":", 1)[1]
    )
    assert seconds(proxy["environment"]["NGINX_PROXY_READ_TIMEOUT"]) > 30  # gunicorn's timeout


def test_every_image_is_pinned_and_the_application_is_built_from_the_repository(
    compose: dict[str, Any],
) -> None:
    for name, service in compose["services"].items():
        image = service["image"]
        if name in ("migrate", "web", "worker"):
            assert image == "hyperrep-server:latest"
            assert service["build"]["context"] == ".."
            assert (DEPLOY.parent / service["build"]["dockerfile"]).is_file()
            assert "BASE_IMAGE" in service["build"]["args"]
            assert "ARG BASE_IMAGE" in (DEPLOY / "Dockerfile").read_text()
        else:
            _, _, tag = image.partition(":")
            assert tag, f"{name}: {image} has no tag"
            assert tag != "latest", f"{name}: {image}"


def test_the_env_example_sets_what_the_application_needs_and_every_documented_variable(
    compose: dict[str, Any],
) -> None:
    example = dotenv(DEPLOY / ".env.example")
    services = compose["services"]
    for name in ("migrate", "web", "worker"):
        assert set(example) | set(services[name]["environment"]) >= REQUIRED, name
        # compose.yaml builds DATABASE_URL from the one password, for every service that
        # runs the application, pointing at the stack's own database.
        assert services[name]["environment"]["DATABASE_URL"] == (
            f"postgres://hyperrep:{example['POSTGRES_PASSWORD']}@postgres:5432/hyperrep"
        ), name
    # Not typed a second time in the example (compose's `environment` would win over it).
    assert "DATABASE_URL" not in example
    assert "DATABASE_URL" not in commented_out(DEPLOY / ".env.example")
    # The password goes into the URL as it is: URL-safe, as token_urlsafe makes it.
    assert re.fullmatch(r"[A-Za-z0-9_-]+", example["POSTGRES_PASSWORD"])
    assert "token_urlsafe" in (DEPLOY / ".env.example").read_text()
    assert example["REDIS_URL"] == "redis://redis:6379/0"
    # Besides the host's name, what trying the stack from its own machine asks for (the
    # health checks need neither: the probes answer whatever the Host).
    assert {"localhost", "127.0.0.1"} <= set(example["ALLOWED_HOSTS"].split(","))
    # Every variable of the README's configuration table, but the two that are right per
    # process as they are; a few are the stack's wiring, set in compose.yaml for web.
    table = (ROOT / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    documented = {name for cell in first_cells for name in re.findall(r"`([A-Z0-9_]+)`", cell)}
    assert {"SECRET_KEY", "REDIS_URL", "PUBLIC_URL"} <= documented
    given = (
        set(example)
        | commented_out(DEPLOY / ".env.example")
        | set(compose["services"]["web"]["environment"])
    )
    missing = documented - given - {"PROMETHEUS_MULTIPROC_DIR", "GUNICORN_CONTROL_SOCKET"}
    assert not missing, sorted(missing)


def test_the_env_example_gives_gunicorn_no_empty_value_and_hsts_a_trial_length(
    compose: dict[str, Any],
) -> None:
    example = dotenv(DEPLOY / ".env.example")
    for name in READ_BY_GUNICORN:
        assert example.get(name, "unset") != "", f"{name}= (empty) in deploy/.env.example"
        for service in ("migrate", "web", "worker"):
            environment = compose["services"][service].get("environment", {})
            assert environment.get(name, "unset") != "", f"{service}: {name} is empty"
    assert "WEB_CONCURRENCY" in commented_out(DEPLOY / ".env.example")
    # With SECURE_SSL_REDIRECT=1 the default HSTS is a year; a new host tries 300 s first,
    # as the Kubernetes ConfigMap does (docs/production.md).
    assert example["SECURE_SSL_REDIRECT"] == "1"
    assert example["SECURE_HSTS_SECONDS"] == "300"
    assert by_kind("ConfigMap", "hyperrep-config")["data"]["SECURE_HSTS_SECONDS"] == "300"


def test_without_a_postgres_password_compose_refuses_to_start() -> None:
    environment = dotenv(DEPLOY / ".env.example")
    environment["POSTGRES_PASSWORD"] = ""
    with pytest.raises(AssertionError, match=r"set POSTGRES_PASSWORD in deploy/\.env"):
        compose_text(environment)


# --- Kubernetes ------------------------------------------------------------------------------
def kustomization() -> dict[str, Any]:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


def manifests() -> list[dict[str, Any]]:
    """The documents of the files kustomization.yaml lists."""
    documents: list[dict[str, Any]] = []
    for name in kustomization()["resources"]:
        documents.extend(doc for doc in yaml.safe_load_all((K8S / name).read_text()) if doc)
    return documents


def by_kind(kind: str, name: str) -> dict[str, Any]:
    [document] = [d for d in manifests() if d["kind"] == kind and d["metadata"]["name"] == name]
    return document


def secret_example() -> dict[str, Any]:
    return yaml.safe_load((K8S / "secret.example.yaml").read_text())


def pod_spec(document: dict[str, Any]) -> dict[str, Any]:
    return document["spec"]["template"]["spec"]


def workloads() -> list[dict[str, Any]]:
    return [d for d in manifests() if d["kind"] in ("Deployment", "Job")]


def test_the_kustomization_lists_every_manifest_and_only_files_that_exist() -> None:
    listed = kustomization()["resources"]
    assert len(listed) == len(set(listed))
    for name in listed:
        assert (K8S / name).is_file(), name
    present = {path.name for path in K8S.glob("*.yaml")}
    assert present - set(listed) == {"kustomization.yaml", "secret.example.yaml"}


def test_every_manifest_follows_the_kubernetes_schemas() -> None:
    documents = [*manifests(), secret_example()]
    assert {d["kind"] for d in documents} == {
        "Namespace",
        "ConfigMap",
        "Secret",
        "Job",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
    }
    for version in KUBERNETES_VERSIONS:
        for document in documents:
            kubernetes_validate.validate(document, version, strict=True)


def test_the_kubernetes_check_refuses_what_the_schemas_do() -> None:
    web = by_kind("Deployment", "hyperrep-web")
    container = pod_spec(web)["containers"][0]
    container["readinessProbe"]["httpGet"]["paht"] = "/readyz"  # a field that does not exist
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, KUBERNETES_VERSIONS[-1], strict=True)
    budget = by_kind("PodDisruptionBudget", "hyperrep-web")
    budget["spec"]["minAvailable"] = [1]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(budget, KUBERNETES_VERSIONS[-1], strict=True)


KUBECTL = shutil.which("kubectl")


@pytest.mark.skipif(KUBECTL is None and not os.environ.get("CI"), reason="kubectl is not installed")
def test_kustomize_builds_the_manifests_with_every_image_pinned() -> None:
    assert KUBECTL, "kubectl is not installed (CI needs it for `kubectl kustomize`)"
    built = run([KUBECTL, "kustomize", K8S], os.environ, timeout=60)
    assert built.returncode == 0, built.stderr
    documents = [d for d in yaml.safe_load_all(built.stdout) if d]
    assert len(documents) == len(manifests())
    images = set()
    for document in documents:
        assert document["metadata"].get("namespace", "hyperrep") == "hyperrep"
        if document["kind"] in ("Deployment", "Job"):
            images |= {c["image"] for c in pod_spec(document)["containers"]}
    assert images == {"registry.example.com/hyperrep-server:0.1.0"}
    for image in images:
        assert not image.endswith(":latest")


def test_web_is_probed_on_healthz_and_readyz_and_its_service_budget_and_autoscaler_find_it() -> (
    None
):
    web = by_kind("Deployment", "hyperrep-web")
    spec = pod_spec(web)
    [container] = spec["containers"]
    assert container["args"] == ["web"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": 8000}
    assert container["env"] == [{"name": "BIND", "value": "0.0.0.0:8000"}]
    for probe, path in (
        ("livenessProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
        ("startupProbe", "/healthz"),
    ):
        check = container[probe]["httpGet"]
        assert (check["path"], check["port"]) == (path, "http"), probe
        # The kubelet's Host is the pod's address, which the probes' paths answer whatever it
        # is (tests/api/test_readiness.py): no header to keep in step with ALLOWED_HOSTS.
        assert "httpHeaders" not in check, probe
    # SIGTERM's grace: the preStop pause and gunicorn's graceful shutdown both fit.
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    assert spec["terminationGracePeriodSeconds"] > pause + graceful_timeout()
    strategy = web["spec"]["strategy"]["rollingUpdate"]
    assert strategy["maxUnavailable"] == 0

    labels = web["spec"]["template"]["metadata"]["labels"]
    assert web["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = by_kind("Service", "hyperrep-web")
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] in ports
    budget = by_kind("PodDisruptionBudget", "hyperrep-web")
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert budget["spec"]["minAvailable"] < web["spec"]["replicas"]
    autoscaler = by_kind("HorizontalPodAutoscaler", "hyperrep-web")
    target = autoscaler["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "hyperrep-web")
    assert autoscaler["spec"]["minReplicas"] >= 2


def test_worker_and_migrate_run_their_roles() -> None:
    roles = entrypoint_roles()
    worker = pod_spec(by_kind("Deployment", "hyperrep-worker"))
    assert worker["containers"][0]["args"] == ["worker"]
    assert worker["terminationGracePeriodSeconds"] > 20  # the worker stops within 20 s
    job = by_kind("Job", "hyperrep-migrate")
    assert pod_spec(job)["containers"][0]["args"] == ["migrate"]
    assert pod_spec(job)["restartPolicy"] == "Never"
    for document in workloads():
        for container in pod_spec(document)["containers"]:
            assert container["args"][0] in roles


def test_every_pod_runs_unprivileged_on_a_read_only_root_with_somewhere_to_write() -> None:
    for document in workloads():
        spec = pod_spec(document)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] != 0
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"])
            assert {"cpu", "memory"} <= set(resources["limits"])
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            # Python's temporary files and the metrics directory (gunicorn.conf.py) in /tmp;
            # gunicorn's control socket in the application's var/.
            writable = {"/tmp", "/app/var"} if container["args"] == ["web"] else {"/tmp"}  # noqa: S108
            assert writable <= set(mounts), document["metadata"]["name"]
            for path in writable:
                assert "emptyDir" in volumes[mounts[path]]


def test_every_workload_has_the_settings_the_application_requires() -> None:
    config = by_kind("ConfigMap", "hyperrep-config")
    secret = secret_example()
    assert secret["metadata"]["name"] == "hyperrep-secrets"
    assert "example" in (K8S / "secret.example.yaml").read_text().splitlines()[0].lower()
    given = set(config["data"]) | set(secret["stringData"])
    assert given >= REQUIRED
    assert len(secret["stringData"]["SECRET_KEY"]) >= 50
    # An example value would be a real URL in a cluster: DATABASE_URL_DIRECT is shown
    # commented out, and never empty (an empty DATABASE_URL is the embedded SQLite).
    assert "DATABASE_URL_DIRECT" not in secret["stringData"]
    assert "# DATABASE_URL_DIRECT: " in (K8S / "secret.example.yaml").read_text()
    for document in workloads():
        for container in pod_spec(document)["containers"]:
            sources = container["envFrom"]
            assert {"configMapRef": {"name": "hyperrep-config"}} in sources
            assert {"secretRef": {"name": "hyperrep-secrets"}} in sources


def test_migrate_reaches_postgresql_directly_when_the_secret_says_how() -> None:
    """Behind PgBouncer in transaction mode, migrate needs PostgreSQL itself (or a session
    pool): the Secret's DATABASE_URL_DIRECT, when it has one, is the Job's DATABASE_URL (env
    wins over envFrom; an optional key that is missing leaves envFrom's DATABASE_URL)."""
    [container] = pod_spec(by_kind("Job", "hyperrep-migrate"))["containers"]
    assert container["env"] == [
        {
            "name": "DATABASE_URL",
            "valueFrom": {
                "secretKeyRef": {
                    "name": "hyperrep-secrets",
                    "key": "DATABASE_URL_DIRECT",
                    "optional": True,
                }
            },
        }
    ]
    [worker] = pod_spec(by_kind("Deployment", "hyperrep-worker"))["containers"]
    assert "env" not in worker  # web and worker keep the pool's DATABASE_URL


# --- The settings, as the application reads them ---------------------------------------------
def check_deploy(environment: dict[str, str]) -> set[str]:
    """`manage.py check --deploy` under exactly `environment` (and PATH): the ids it warns of.
    It reads the settings as the server would, without connecting to the database."""
    result = run(
        [sys.executable, "manage.py", "check", "--deploy"],
        {"PATH": os.environ.get("PATH", ""), **environment},
    )
    assert result.returncode == 0, result.stderr
    return set(re.findall(r"\((security\.\w+)\)", result.stderr + result.stdout))


# HSTS for every subdomain, and in browsers' preload lists, reach beyond this server's host:
# the examples leave both to the operator, and `check --deploy` says so; nothing else.
LEFT_TO_THE_OPERATOR = {"security.W005", "security.W021"}
STRONG_KEY = "Vd2m5Qh0Zr8xK1cT7bN4yL6pW3sF9gJ2aE5uO8iR1tY4wC7zX0vB3nM6kH9jD2lA"


def test_the_compose_settings_pass_check_deploy_but_for_what_is_left_to_the_operator(
    compose: dict[str, Any],
) -> None:
    environment = {**dotenv(DEPLOY / ".env.example"), "SECRET_KEY": STRONG_KEY}
    environment.update(compose["services"]["web"]["environment"])
    assert check_deploy(environment) == LEFT_TO_THE_OPERATOR


def test_the_kubernetes_settings_pass_check_deploy_but_for_what_is_left_to_the_operator() -> None:
    environment = {**by_kind("ConfigMap", "hyperrep-config")["data"]}
    environment.update(secret_example()["stringData"])
    environment["BIND"] = "0.0.0.0:8000"
    assert check_deploy(environment) == LEFT_TO_THE_OPERATOR
