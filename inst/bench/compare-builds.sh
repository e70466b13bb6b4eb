#!/bin/sh
# Times two installed builds of vaeconv against each other on the benchmark
# configurations, interleaved round by round (CPU ms per iteration, one
# thread); prints "round config base other", one line per pair. The ratio
# other / base per round, then its median over rounds, is the figure.
#
#     sh inst/bench/compare-builds.sh BASE_LIB OTHER_LIB [rounds]
base=$1; other=$2; rounds=${3:-7}
here=$(dirname "$0")
for r in $(seq 1 "$rounds"); do
  for c in small iwae large; do
    it=1000; [ "$c" = iwae ] && it=100; [ "$c" = large ] && it=60
    b=$(R_LIBS="$base" Rscript "$here/cpu-per-iteration.R" "$c" "$it")
    o=$(R_LIBS="$other" Rscript "$here/cpu-per-iteration.R" "$c" "$it")
    echo "$r $c $b $o"
  done
done
