# Shared by the fault suite's stand-in tools.
# real_tool NAME: the real tool on PATH (this folder is never on PATH).
real_tool() { command -v "$1"; }
# out_path ARGS...: the output file: the argument after -o, else the last one.
out_path() {
    prev=""; out=""
    for arg in "$@"; do
        if [ "$prev" = "-o" ]; then out="$arg"; fi
        prev="$arg"; last="$arg"
    done
    [ -n "$out" ] || out="$last"
    case "$out" in file:*) out="${out#file:}" ;; esac
    printf '%s' "$out"
}
# is_write_pass ARGS...: true for the pass that writes media (not -J / -version / probes).
is_write_pass() {
    for arg in "$@"; do
        case "$arg" in -o|-y|--gui-mode|-progress) return 0 ;; esac
    done
    return 1
}
