/* The protocol's files (core/proto/, core/sim/) do no I/O of their own:
 * they reach the network, timers and DNS through io.h only. This header
 * stands first on their include path in place of the real microhttpd.h. */
#error "microhttpd.h in core/proto/ or core/sim/: do I/O through io.h (core/net/ implements it)"
