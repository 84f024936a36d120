#!/usr/bin/env bash
# All benchmarks, in one go (make bench). Results go to stdout; record them
# in bench/RESULTS.md with the command that produced them.
set -eu
cd "$(dirname "$0")/.."
bench/faultlat.sh 20000 5
echo
bench/slowdown.sh 5
echo
bench/sampler_overhead.sh 5
echo
bench/service_time.sh 5
