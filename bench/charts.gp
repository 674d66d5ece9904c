# Draws ptdb-bench's charts from the files `ptdb-bench --chart-data DIR` writes (see
# chart_data.h): DIR/ops.png (ops/s per phase per store) and DIR/commit-latency.png
# (microseconds per durable and per no-sync commit, per store). Bars (and dots) are medians
# over the runs, whiskers the slowest and the fastest run. Values are on a log scale: the
# stores differ by up to two orders of magnitude.
#
#   gnuplot -e "dir='results/2026-11-22'" bench/charts.gp
#
# Bars are placed by hand (boxes at group + offset, whiskers as yerrorbars on the same x):
# gnuplot 5.4's errorbar histograms shift the whiskers off their bars on a log axis.
if (!exists("dir")) dir = "."
load dir."/meta.gp"

set terminal pngcairo size 1400,700 font "sans,11" noenhanced
set datafile missing "?"
set datafile columnheaders
set style fill solid 0.85 border -1
set logscale y
set grid ytics mytics
set key outside right top vertical
set xtics nomirror scale 0
set ytics nomirror
set offsets 0.5, 0.5, 0, 0

# Bar i of n in a group centred on the group's index.
width(n) = 0.8 / n
x(group, i, n) = group + (i - (n - 1) / 2.0) * width(n)

set output dir."/ops.png"
set title "ptdb-bench: operations per second (higher is better)\n".subtitle
set ylabel "ops/s (log scale)"
set format y "%.0s%c"
set boxwidth width(stores)
plot dir."/ops.dat" using 0:(NaN):xtic(1) notitle, \
     for [i=0:stores-1] "" using (x($0, i, stores)):(column(2+3*i)) \
       with boxes lc i+1 title columnheader(2+3*i), \
     for [i=0:stores-1] "" \
       using (x($0, i, stores)):(column(2+3*i)):(column(3+3*i)):(column(4+3*i)) \
       with yerrorbars lc black pt 7 ps 0.3 notitle

set output dir."/commit-latency.png"
set title "ptdb-bench: commit latency of a 10-record transaction (lower is better)\n".subtitle
set ylabel "microseconds per commit (log scale)"
set format y "%.0f"
set boxwidth width(2)
plot dir."/commit.dat" using (x($0, 0, 2)):2:xtic(1) with boxes lc 1 \
       title "tx10-durable (on the disk, synced)", \
     "" using (x($0, 1, 2)):5 with boxes lc 2 title "tx10-nosync (syncs off)", \
     "" using (x($0, 0, 2)):2:3:4 with yerrorbars lc black pt 7 ps 0.3 notitle, \
     "" using (x($0, 1, 2)):5:6:7 with yerrorbars lc black pt 7 ps 0.3 notitle
