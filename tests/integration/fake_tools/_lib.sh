# Shared by the fake tools: the output path is the last argument, maybe "file:"-prefixed.
out_path() {
    for last in "$@"; do :; done
    case "$last" in file:*) last="${last#file:}" ;; esac
    printf '%s' "$last"
}
real_tool() {
    # the real tool of the same name on PATH, skipping this folder
    name="$1"
    here="$(cd "$(dirname "$0")" && pwd)"
    old_ifs="$IFS"; IFS=:
    for dir in $PATH; do
        if [ "$dir" != "$here" ] && [ -x "$dir/$name" ]; then IFS="$old_ifs"; printf '%s' "$dir/$name"; return; fi
    done
    IFS="$old_ifs"
    return 1
}
