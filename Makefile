# The two commands: `make run` and `make test`. Both set up what is missing.
.PHONY: setup build run test lint bench-api bench-host bench-extension fuzz mutants package package-install-test icons screens

# The web app's origin, exactly as browsers write it (scheme://host[:port]):
# the only page that may talk to the extension, and the API's --public-origin.
# The default is `make run`'s plain-http loopback address: development only.
WEB_APP_ORIGIN ?= http://127.0.0.1:8787
export WEB_APP_ORIGIN

setup:
	bash scripts/setup.sh

build: setup
	cargo build --workspace --locked
	bash scripts/build-extension.sh

run: build
	bash scripts/run.sh

test: build
	bash scripts/test.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cd extension && cargo fmt -- --check && cargo clippy --locked -- -D warnings

# What a user installs: dist/dialer-2fa-extension-<version>.zip for the
# Chrome Web Store and the host's and the API's .deb (cargo-deb), checked at
# the end. Build the zip for the real web app: WEB_APP_ORIGIN=https://...
package: build
	bash scripts/package.sh

# Installs the host's .deb (dpkg -i, root or sudo), shows that Chromium finds
# it through the system-wide manifest, and purges it again. `make test` runs
# it too, on a .deb packed from the debug build (deb-install-test.sh --debug).
package-install-test: package
	bash scripts/deb-install-test.sh

# Every screen in light and dark mode into docs/screens/ and docs/screens.md
# (the browser suite's walk, tests/e2e/screens.test.mjs, axe-core included).
screens: build
	bash scripts/screens.sh

# Renders extension/icons/*.svg to the committed PNGs (rsvg-convert) and the
# web app's favicon; run after changing an SVG.
icons:
	bash scripts/icons.sh

# DATABASE_URL=postgres://... benches that server instead of a throw-away
# cluster; BENCH_STORES="sqlite" (or "postgres", "postgres-2") narrows it.
bench-api: build
	bash scripts/bench-api.sh $(if $(DATABASE_URL),--database-url $(DATABASE_URL))

bench-host: build
	bash scripts/bench-host.sh

bench-extension: build
	bash scripts/bench-extension.sh

fuzz:
	bash scripts/fuzz.sh

# Mutation testing of the rule-enforcing modules; hours on 2 cores, not part
# of `make test`. FILES="a.rs b.rs", SHARD=k/n and IN_DIFF=<git rev> narrow it.
mutants: setup
	bash scripts/mutants.sh
