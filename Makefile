# Two commands for a fresh clone: `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# Development and tests only (it is public): 50+ characters, as the settings require without DEBUG.
DEV_SECRET_KEY := insecure-dev-only-never-use-in-production-0123456789abcdefghijklmnopqrstuvwxyz
# `make run PORT=8001` when 8000 is taken.
PORT ?= 8000
# The development server and its worker: debug pages, and webhooks to a receiver on this
# machine (http://127.0.0.1:…), which production refuses.
DEV_ENV := DEBUG=1 WEBHOOKS_ALLOW_HTTP=1 WEBHOOKS_ALLOW_PRIVATE_NETWORKS=1

.PHONY: install install-prod run manage test lint format serve-prod worker-prod clean

# Installs the pinned, hash-checked dependencies into $(VENV); reruns when the lock changes.
install: $(VENV)/.installed
$(VENV)/.installed: requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements/dev.txt
	touch $@

# Development server on 127.0.0.1:$(PORT) (8000) with the embedded SQLite database and a demo organization,
# and a worker beside it that delivers drafts (the demo's channels write them to this console).
run: install
	mkdir -p var
	DEBUG=1 SECRET_KEY=$${SECRET_KEY:-$(DEV_SECRET_KEY)} $(PY) manage.py migrate --no-input -v 0
	@DEBUG=1 SECRET_KEY=$${SECRET_KEY:-$(DEV_SECRET_KEY)} $(PY) manage.py seed_demo --key-file var/demo-api-key -v 0 > var/demo-seed.out
	@org=$$(grep -o 'org_[A-Za-z0-9]*' var/demo-seed.out | head -1); key=$$(cat var/demo-api-key); \
	echo "Demo organization: $$org"; \
	echo "Demo API key:      $$key"; \
	echo "Try: curl -H \"X-API-KEY: $$key\" \"http://127.0.0.1:$(PORT)/api/v2/organizations/$$org/contacts?limit=5\""; \
	echo "API reference: http://127.0.0.1:$(PORT)/api/docs  Admin: http://127.0.0.1:$(PORT)/admin/ (make an account with: make manage cmd=createsuperuser)"; \
	grep '^inbound' var/demo-seed.out | sed 's|: /inbound|: http://127.0.0.1:$(PORT)/inbound|'; \
	echo "Send one in: docs/inbound.md (an email: make manage cmd='ingest_email --channel=<email token>' < docs/examples/message.eml)"
	@$(DEV_ENV) SECRET_KEY=$${SECRET_KEY:-$(DEV_SECRET_KEY)} $(PY) manage.py worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(DEV_ENV) SECRET_KEY=$${SECRET_KEY:-$(DEV_SECRET_KEY)} $(PY) manage.py runserver 127.0.0.1:$(PORT)

# Any manage.py command against the development database, e.g.
#   make manage cmd="create_organization 'Acme Roofing'"
manage: install
	DEBUG=1 SECRET_KEY=$${SECRET_KEY:-$(DEV_SECRET_KEY)} $(PY) manage.py $(cmd)

test: install
	SECRET_KEY=$${SECRET_KEY:-$(DEV_SECRET_KEY)} $(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SECRET_KEY=$(DEV_SECRET_KEY) $(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# What production runs, without the development tools: requirements/base.txt. Like install,
# it reruns only when the lock changes.
install-prod: $(VENV)/.installed-prod
$(VENV)/.installed-prod: requirements/base.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements/base.txt
	touch $@

# Production-style serving from a checkout: static files collected, migrations (under their
# lock: several hosts starting at once are safe), then the image's `web` role
# (deploy/entrypoint: gunicorn with deploy/gunicorn.conf.py). Needs SECRET_KEY (and usually
# DATABASE_URL, ALLOWED_HOSTS) in the environment.
serve-prod: install-prod
	$(PY) manage.py collectstatic --no-input --verbosity 0
	$(PY) manage.py migrate --no-input
	PATH="$(abspath $(BIN)):$$PATH" exec deploy/entrypoint web

# The worker that delivers drafts, beside serve-prod (as many as you like on PostgreSQL): the
# image's `worker` role.
worker-prod: install-prod
	PATH="$(abspath $(BIN)):$$PATH" exec deploy/entrypoint worker

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Backups of the compose stack's database (deploy/compose.yaml, docs/backups.md): a dated
# pg_dump into backups/ (BACKUP_DIR=…), the newest KEEP=N kept if given. pg_dump and
# pg_restore run inside the postgres container, so they match its version.
COMPOSE ?= docker compose -f deploy/compose.yaml
PG_EXEC = $(COMPOSE) exec -T postgres
.PHONY: backup restore
backup:
	DATABASE_URL= PG_DUMP="$(PG_EXEC) pg_dump -U hyperrep -d hyperrep" \
	    deploy/backup $(if $(KEEP),--keep $(KEEP))

# make restore FILE=backups/hyperrep-….dump YES=1: stops web and worker, replaces the stack's
# database with FILE, then `up` again: migrate runs first, then web and worker. Without YES=1
# it refuses before it stops anything (the database has tables once the stack has been up).
restore:
	@test -n "$(FILE)" || { echo "usage: make restore FILE=backups/hyperrep-….dump YES=1" >&2; exit 2; }
	@test -f "$(FILE)" && test -r "$(FILE)" || { echo "make restore: cannot read $(FILE) (nothing stopped)" >&2; exit 2; }
	@test "$(YES)" = 1 || { echo "Nothing stopped, nothing restored: this replaces the stack's database with $(FILE), web and worker stopped meanwhile. To go ahead: make restore FILE=$(FILE) YES=1" >&2; exit 2; }
	$(COMPOSE) up -d --wait postgres
	$(COMPOSE) stop web worker
	DATABASE_URL= PSQL="$(PG_EXEC) psql -U hyperrep -d hyperrep" \
	    PG_RESTORE="$(PG_EXEC) pg_restore -U hyperrep -d hyperrep" \
	    deploy/restore --yes "$(FILE)" || { \
	    echo "Not restored; web and worker are stopped: $(COMPOSE) up -d starts them" >&2; exit 1; }
	$(COMPOSE) up -d
