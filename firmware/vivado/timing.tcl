# Place and route one block (or the whole chain) for an UltraScale+ part and report whether it meets the clock.
#
#   vivado -mode batch -source firmware/vivado/timing.tcl -tclargs [top] [part] [period_ns]
#
# Defaults: tick_to_trade, xcvu9p-flga2104-2-i (Virtex UltraScale+, -2), 4.0 ns (250 MHz). The design is built out
# of context (its ports are not I/O pins), so the figure is the fabric's: register to register inside the design.
# Reports go to firmware/vivado/build/<top>/: timing summary, utilization and the logic-level distribution of the
# worst paths; the last line printed is the worst setup slack and the clock it supports.
#
# Written for the flow of Vivado 2020.2 and later; not run in this repository's CI, which has no Vivado.

set here   [file dirname [file normalize [info script]]]
set top    [expr {$argc > 0 ? [lindex $argv 0] : "tick_to_trade"}]
set part   [expr {$argc > 1 ? [lindex $argv 1] : "xcvu9p-flga2104-2-i"}]
set period [expr {$argc > 2 ? [lindex $argv 2] : 4.0}]
set out    [file join $here build $top]
file mkdir $out

# The clock is constrained before synthesis so that synthesis and placement both work to it.
set xdc [file join $out clock.xdc]
set constraints [open $xdc w]
puts $constraints "create_clock -name clk -period $period \[get_ports clk\]"
close $constraints

foreach source [lsort [glob [file join $here .. rtl *.v]]] {
    read_verilog $source
}
read_xdc -mode out_of_context $xdc
synth_design -top $top -part $part -mode out_of_context
opt_design
place_design
phys_opt_design
route_design

report_timing_summary -max_paths 20 -file [file join $out timing.rpt]
report_utilization -file [file join $out utilization.rpt]
report_design_analysis -logic_level_distribution -file [file join $out logic_levels.rpt]

set worst [get_timing_paths -setup -max_paths 1 -nworst 1]
set slack [get_property SLACK $worst]
set fmax  [expr {1000.0 / ($period - $slack)}]
puts [format "%s on %s at %.3f ns: worst setup slack %.3f ns, %s, %.0f MHz supported" \
    $top $part $period $slack [expr {$slack >= 0 ? "met" : "NOT met"}] $fmax]
