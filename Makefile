# The two commands of README: `make dashboard` and `make test`. Everything installs from nothing.
.PHONY: dashboard test lint bench sandbox

dashboard:
	scripts/install.sh app
	.venv/bin/python -m streamlit run app.py

test:
	scripts/install.sh dev
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports --no-cache
	.venv/bin/python -m pytest

lint:
	scripts/install.sh dev
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

sandbox:
	scripts/install.sh app
	.venv/bin/python -m kontur.sandbox

bench:
	scripts/install.sh bench
	.venv/bin/python bench/sync.py
	.venv/bin/python bench/pages.py
	.venv/bin/python bench/kafka.py
