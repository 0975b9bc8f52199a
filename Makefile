# kore-fanout: build, run, test and benchmark.
#
# kodev names the app after the current directory and compiles in
# conf/<dir>.conf, so the build links conf/<dir>.conf to conf/app.conf and
# works whatever the checkout is called.

APP		:= $(notdir $(CURDIR))
BIN		:= build/fanout
ASAN_BIN	:= build/asan/$(APP)
KORE_SRC	:= build/kore
KORE_STAMP	:= $(KORE_SRC)/.patched
PATCHES		:= $(sort $(wildcard patches/*.patch))
PYTHON		?= python3

DEPS_BUILD	:= kore libcurl4-openssl-dev libyajl-dev libssl-dev gcc make \
		   curl patch python3 libjs-jquery libjs-jquery-datatables \
		   libhiredis-dev
DEPS_TEST	:= $(DEPS_BUILD) chromium chromium-driver nginx openssl strace \
		   prometheus python3-prometheus-client redis-server
DEPS_BENCH	:= $(DEPS_BUILD) wrk nginx libnginx-mod-http-echo

SRCS		:= $(shell find src assets conf -type f 2>/dev/null)

# The C unit tests: the libc-only modules they test, under ASan/UBSan.
UNIT_BIN	:= build/unit-tests
UNIT_SRCS	:= src/app/settings.c src/lib/qparam.c src/engine/stiming.c \
		   src/pages/demojson.c src/pages/comic.c src/lib/tmpl.c \
		   src/pages/partner.c src/lib/url.c src/lib/jsonload.c \
		   src/lib/jsongen.c src/pages/envelope.c src/lib/tracectx.c
SRC_DIRS	:= src/app src/engine src/pages src/sim src/lib
UNIT_CFLAGS	:= -std=c99 -D_GNU_SOURCE -Wall -Wextra -Werror -g \
		   -fsanitize=address,undefined $(addprefix -I,$(SRC_DIRS))

# Browser libraries from Debian's packages, compiled in as assets.
DT		:= /usr/share/javascript/jquery-datatables
VENDOR		:= assets/vendor/.stamp
VENDOR_SRC	:= /usr/share/javascript/jquery/jquery.min.js \
		   $(DT)/jquery.dataTables.min.js \
		   $(DT)/css/jquery.dataTables.min.css \
		   $(DT)/images/sort_asc.png $(DT)/images/sort_desc.png \
		   $(DT)/images/sort_both.png \
		   $(DT)/images/sort_asc_disabled.png \
		   $(DT)/images/sort_desc_disabled.png

.PHONY: all deps deps-test deps-bench build run test test-unit \
	unit-tests test-integration test-asan bench clean

all: build

deps:
	@sh tests/deps.sh $(DEPS_BUILD)

deps-test:
	@sh tests/deps.sh $(DEPS_TEST)

deps-bench:
	@sh tests/deps.sh $(DEPS_BENCH)

# Kore is compiled in from a copy of Debian's source with the patches/
# series applied in order (README: "Changes to Kore 4.1.0").  A changed
# series makes a fresh copy, and every object (Kore's and the app's, which
# include Kore's headers) is rebuilt.
$(KORE_STAMP): $(PATCHES)
	@mkdir -p build
	rm -rf $(KORE_SRC) $(KORE_SRC).tmp .objs .objs-asan
	cp -a /usr/share/kore $(KORE_SRC).tmp
	@for p in $(PATCHES); do \
		echo "patch $$p"; \
		patch -s -p1 -N --no-backup-if-mismatch -d $(KORE_SRC).tmp \
		    < $$p || exit 1; \
	done
	mv $(KORE_SRC).tmp $(KORE_SRC)
	touch $@

$(VENDOR): $(VENDOR_SRC)
	@mkdir -p assets/vendor
	cp $(VENDOR_SRC) assets/vendor/
	@touch $@

conf/$(APP).conf:
	@if [ "$(APP)" != "app" ]; then ln -sf app.conf conf/$(APP).conf; fi

# kodev rebuilds a .c file only when it changed, not when a header it
# includes did: after a header change, rebuild every source.
HDR_CHANGED	= [ -f "$(1)" ] && [ -n "$$(find src -name '*.h' \
		    -newer $(1))" ] && find src -name '*.c' -exec touch {} + || true

$(BIN): $(KORE_STAMP) $(VENDOR) conf/$(APP).conf $(SRCS)
	@$(call HDR_CHANGED,$(APP))
	KORE_BUILD_FLAVOR=dev kodev build
	cp $(APP) $(BIN).tmp && mv $(BIN).tmp $(BIN)

build: deps $(BIN)

run: build
	./$(BIN) -fnr --accesslog -

$(ASAN_BIN): $(KORE_STAMP) $(VENDOR) conf/$(APP).conf $(SRCS)
	@mkdir -p build/asan
	@$(call HDR_CHANGED,$(ASAN_BIN))
	KORE_BUILD_FLAVOR=asan KORE_OBJDIR=.objs-asan KODEV_OUTPUT=build/asan \
	    KORE_FLAVOR="CURL=1 SANITIZE=address" kodev build

test: deps-test $(BIN) $(ASAN_BIN)
	$(PYTHON) tests/run.py --bin $(BIN) --asan-bin $(ASAN_BIN)

test-unit: deps-test
	$(PYTHON) tests/run.py --only unit

# tests/run.py builds this itself (make -s unit-tests) and runs it.
unit-tests: $(UNIT_BIN)

$(UNIT_BIN): $(UNIT_SRCS) $(wildcard tests/unit/*.[ch] src/*/*.h)
	@mkdir -p build
	$(CC) $(UNIT_CFLAGS) $(UNIT_SRCS) tests/unit/*.c -lyajl -o $@

test-integration: deps-test $(BIN)
	$(PYTHON) tests/run.py --bin $(BIN) --only integration

test-asan: deps-test $(ASAN_BIN)
	$(PYTHON) tests/run.py --bin $(ASAN_BIN) --only asan

bench: deps-bench $(BIN)
	$(PYTHON) bench/bench.py --bin $(BIN)

clean:
	rm -rf .objs .objs-asan build cert $(APP) assets/vendor
	@if [ "$(APP)" != "app" ]; then rm -f conf/$(APP).conf; fi
