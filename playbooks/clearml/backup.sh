#!/bin/sh
# The upgrade's backup (clearml/backup.yml), the checks of its directory (preflight.yml) and
# its restore (rollback.yml), in one file so that one copy of the code writes the manifest and
# every step reads it. The `script` module runs it with `sh`; POSIX sh and the tools of Linux
# (GNU or BusyBox) and macOS (BSD), detected, never assumed.
#
#   sh backup.sh private DIR...                 each existing DIR is a directory of ours, 0700
#   sh backup.sh room ROOT BACKUP               KiB of data, KiB free, copies of it needed
#   sh backup.sh back-up ROOT COMPOSE BACKUP    manifests, archives and copies (server stopped)
#   sh backup.sh verify BACKUP                  each archive and copy against its manifest
#   sh backup.sh restore BACKUP ROOT COMPOSE    unpack and copy back, then check the result
#   sh backup.sh manifest DIR                   DIR's manifest on stdout (by hand, tests)
#
# Upstream (clearml/clearml-docs, read at allegroai/clearml-docs 00043c1,
# docs/deploying_clearml/clearml_server_linux_mac.md, "Backing Up and Restoring Data and
# Configuration"): "Stop your server before backing up or
# restoring"; `tar czvf ~/clearml_backup_data.tgz -C /opt/clearml/data .` and the same for
# config; to restore, `rm -fR` the data and config, `tar -xzf` each archive into its
# directory, then `chown -R 1000:1000 /opt/clearml` (macOS: `$(whoami):staff`), which
# rollback.yml runs after this script has checked the restored files.
#
# The manifest (manifest.data, manifest.config, and manifest.files for the compose file and
# .env, which are copied rather than archived): one line per entry, sorted by path (LC_ALL=C):
#   TYPE MODE UID:GID SIZE SHA256 PATH
# TYPE f (regular file), d (directory) or l (symbolic link); MODE the permission bits in octal
# (644, 4755; `-` for a link, whose own mode means nothing on Linux); SIZE and SHA256 for a
# regular file, `-` otherwise; PATH as tar names the entry with `-C DIR .` (`.`,
# `./mongo/db/x.wt`), for a link `PATH -> TARGET`. Anything else (socket, fifo, device) and
# path names with a newline are refused with a message: no manifest line can hold them.
#
# Verification: `gzip -t`, then the archive's own manifest is built and compared with the
# recorded one, entry by entry (every entry of the manifest is in the archive, nothing else
# is). GNU tar lists the archive (`tar -tv`) and streams each regular file through sha256sum
# (`--to-command`: nothing is written to disk; one sh and one sha256sum per file); other tars
# (bsdtar on macOS, BusyBox) unpack it into a scratch directory inside the backup directory,
# whose manifest is built as the data's was (the preflight's `room` asks for space for that
# copy). GNU tar archives hard links as copies (`--hard-dereference`), so that each path is a
# file of its own in the archive as in the manifest; a restore makes them separate files.
# Owners are compared where they are exact: always from GNU tar's headers, and in an unpacked
# tree only when root unpacked it (tar restores them only for root). Work files live in
# BACKUP/.work, removed on exit; the backup directory is 0700 and every file in it 0600.
set -u
LC_ALL=C
export LC_ALL
umask 077
nl='
'

die() {
    printf '%s\n' "$*" >&2
    exit 1
}

if command -v sha256sum >/dev/null 2>&1; then
    sum=sha256sum
elif command -v shasum >/dev/null 2>&1; then
    sum='shasum -a 256'
else
    die "neither sha256sum nor shasum is installed: the backup cannot be checked"
fi
case $(tar --version 2>/dev/null) in
*'GNU tar'*) gnutar=1 ;;
*) gnutar= ;;
esac
case $(find --version 2>/dev/null) in
*GNU*) gnufind=1 ;;
*) gnufind= ;;
esac
if stat -c %n / >/dev/null 2>&1; then
    statc=1
else
    statc=
fi
root=
[ "$(id -u)" = 0 ] && root=1

# The scratch directory W inside the backup directory B (removed on exit, however it ends).
work() {
    w=$1/.work
    rm -rf "$w" && mkdir "$w" || die "cannot make the scratch directory $w"
    trap 'rm -rf "$w"' EXIT
    trap 'exit 1' HUP INT TERM
}

# manifest DIR OUT WORK [START...]: the manifest of DIR's tree (or of the START paths in it,
# e.g. ./.env) into OUT. The work is batched: one find per kind of information, one sha256sum
# per batch of files (`-exec … {} +`), one readlink per symbolic link (rare in ClearML data).
manifest() {
    md=$1 mo=$2 mw=$3
    shift 3
    [ $# -gt 0 ] || set -- .
    mkdir -p "$mw" || exit 1
    (
        cd "$md" || exit 1
        find "$@" -name "*$nl*" >"$mw/odd" || die "the manifest of $md could not be made"
        if [ -s "$mw/odd" ]; then
            die "$md holds a path name with a newline ($(tr '\n' '?' <"$mw/odd" | cut -c 1-120)): rename it, a manifest cannot name it"
        fi
        if [ -n "$gnufind" ]; then
            find "$@" -printf 'M %y %m %U:%G %s %p\n' >"$mw/meta"
        elif [ -n "$statc" ]; then
            find "$@" -exec stat -c 'M %A %a %u:%g %s %n' {} + >"$mw/meta"
        else
            find "$@" -exec stat -f 'M %Sp %p %u:%g %z %N' {} + >"$mw/meta"
        fi || die "the manifest of $md could not be made"
        find "$@" -type f -exec $sum {} + >"$mw/sums" || die "the manifest of $md could not be made"
        # shellcheck disable=SC2016
        find "$@" -type l -exec sh -c 'for l do t=$(readlink "$l") || exit 1
            case $t in *"
"*) echo "$l points to a name with a newline: a manifest cannot name it" >&2; exit 1 ;; esac
            printf "L %s\nT %s\n" "$l" "$t"; done' sh {} + \
            >"$mw/links" || die "the manifest of $md could not be made"
    ) || exit 1
    awk -v sums="$mw/sums" -v links="$mw/links" '
        function unescape(s,   o, i, c) {
            o = ""
            for (i = 1; i <= length(s); i++) {
                c = substr(s, i, 1)
                if (c == "\\") { i++; c = substr(s, i, 1); if (c == "n") c = "\n"; else if (c == "r") c = "\r" }
                o = o c
            }
            return o
        }
        # sha256sum escapes a name holding a backslash: "\HASH  NAME" with "\\" in NAME.
        FILENAME == sums {
            l = $0; esc = substr(l, 1, 1) == "\\"
            if (esc) l = substr(l, 2)
            p = substr(l, 67)
            sum[esc ? unescape(p) : p] = substr(l, 1, 64)
            next
        }
        FILENAME == links { if (substr($0, 1, 2) == "L ") link = substr($0, 3); else target[link] = substr($0, 3); next }
        {
            match($0, /^M [^ ]+ [^ ]+ [^ ]+ [^ ]+ /)
            p = substr($0, RLENGTH + 1); t = substr($2, 1, 1); mode = $3
            if (length(mode) > 4) mode = substr(mode, length(mode) - 3)
            sub(/^0+/, "", mode); if (mode == "") mode = "0"
            size = "-"; h = "-"
            if (t == "f" || t == "-") {
                t = "f"; size = $5
                if (!(p in sum)) { bad = bad "; " p ": not readable"; next }
                h = sum[p]
            } else if (t == "l") { mode = "-"; p = p " -> " target[p] }
            else if (t != "d") { bad = bad "; " p ": neither a file, a directory nor a symbolic link (move it away)"; next }
            print t, mode, $4, size, h, p
        }
        END { if (bad != "") { print substr(bad, 3) > "/dev/stderr"; exit 1 } }
    ' "$mw/sums" "$mw/links" "$mw/meta" >"$mw/lines" || die "the manifest of $md could not be made"
    sort -t ' ' -k 6 "$mw/lines" >"$mo" || die "the manifest of $md could not be written to $mo"
}

# one FILE NAME WORK: FILE's manifest line, with the path ./NAME (FILE is absolute).
one() {
    od=${1%/*}
    manifest "${od:-/}" "$3/one" "$3" "./${1##*/}" || exit 1
    awk -v name="./$2" '{ match($0, /^[^ ]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+ /); print substr($0, 1, RLENGTH) name }' "$3/one"
}

# archived ARCHIVE OUT WORK: the manifest of what ARCHIVE holds, in the manifest's form.
archived() {
    aa=$1 ao=$2 aw=$3
    if [ -z "$gnutar" ]; then
        rm -rf "$aw/x" && mkdir -p "$aw/x" || exit 1
        tar -xpzf "$aa" -C "$aw/x" || die "${aa##*/} does not unpack"
        manifest "$aw/x" "$ao" "$aw/m" || exit 1
        rm -rf "$aw/x"
        return
    fi
    tar -tvzf "$aa" --numeric-owner --quoting-style=literal >"$aw/list" ||
        die "${aa##*/} cannot be listed"
    # One line per regular file, in archive order: NAME, a tab, sha256sum's "HASH  -".
    tar -xzf "$aa" --to-command="printf '%s\\t' \"\$TAR_FILENAME\"; $sum" >"$aw/asums" ||
        die "${aa##*/} cannot be read"
    awk -v asums="$aw/asums" '
        function octal(s,   m, i) {
            m = 0
            for (i = 2; i <= 10; i++) m = m * 2 + (substr(s, i, 1) ~ /[rwxst]/)
            m += 2048 * (substr(s, 4, 1) ~ /[sS]/) + 1024 * (substr(s, 7, 1) ~ /[sS]/) + 512 * (substr(s, 10, 1) ~ /[tT]/)
            return sprintf("%o", m)
        }
        FILENAME == asums { n = length($0); sum[substr($0, 1, n - 68)] = substr($0, n - 66, 64); next }
        {
            # PERMS UID/GID SIZE DATE TIME NAME (GNU tar, C locale; DATE TIME is one field for
            # a time it cannot convert).
            own = $2; sub("/", ":", own)
            match($0, /^[^ ]+ +[^ ]+ +[^ ]+ +/); r = substr($0, RLENGTH + 1)
            if (match(r, /^[0-9][0-9-]* [0-9][0-9:.]* /)) r = substr(r, RLENGTH + 1); else sub(/^[^ ]+ /, "", r)
            t = substr($1, 1, 1)
            if (t == "-") {
                if (!(r in sum)) { print "? - " own " - - " r; next }
                print "f", octal($1), own, $3, sum[r], r
            } else if (t == "d") { sub(/\/$/, "", r); print "d", octal($1), own, "-", "-", r }
            else if (t == "l") print "l", "-", own, "-", "-", r
            else print t, octal($1), own, "-", "-", r
        }
    ' "$aw/asums" "$aw/list" >"$aw/lines" || die "${aa##*/} cannot be read"
    sort -t ' ' -k 6 "$aw/lines" >"$ao" || die "the manifest of ${aa##*/} could not be written to $ao"
}

# compare WHAT RECORDED ACTUAL IGNORE: prints each difference (the first 20) on stdout and one
# line on stderr naming the first three; fails if there is any. IGNORE: fields not compared
# ("mode owner" for the backup's own copies, which are 0600 and ours).
compare() {
    awk -v what="$1" -v ignore=" $4 " '
        function key(l) { match(l, /^[^ ]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+ /); return substr(l, RLENGTH + 1) }
        function note(s) { n++; if (n <= 20) print what ": " s; if (n <= 3) first = first (n > 1 ? "; " : "") s }
        FILENAME == ARGV[1] { k = key($0); want[k] = $0; order[++w] = k; next }
        { k = key($0); if (k in got) note(k ": twice"); got[k] = $0; seen[++g] = k }
        END {
            split("type mode owner size sha256", field, " ")
            for (i = 1; i <= w; i++) {
                k = order[i]
                if (!(k in got)) { note(k ": missing"); continue }
                split(want[k], a, " "); split(got[k], b, " "); d = ""
                for (j = 1; j <= 5; j++) {
                    if (a[j] == b[j] || index(ignore, " " field[j] " ")) continue
                    d = d (d == "" ? "" : ", ") field[j] (j == 5 ? " differs" : " " b[j] " (recorded " a[j] ")")
                }
                if (d != "") note(k ": " d)
            }
            for (i = 1; i <= g; i++) if (!(seen[i] in want)) note(seen[i] ": not in the manifest")
            if (n) {
                printf "%s does not match its manifest: %s%s\n", what, first, (n > 3 ? " (" n " differences)" : "") > "/dev/stderr"
                exit 1
            }
        }
    ' "$2" "$3"
}

# A path given relative is the login directory's (where the task runs).
absolute() {
    case $1 in
    /*) ;;
    *) set -- "$PWD/$1" ;;
    esac
    abs=$1
}

# private DIR...: every DIR that exists is a directory (not a link) of the user that runs
# this, which no one else may open: the backup holds the database and .env (the services
# agent's secret, cloud credentials).
private() {
    me=$(id -u)
    for d in "$@"; do
        [ -e "$d" ] || [ -L "$d" ] || continue
        if [ -L "$d" ] || [ ! -d "$d" ]; then
            die "the backup directory $d is not a directory: choose another --backup-dir"
        fi
        l=$(ls -nd "$d") || exit 1
        set -f
        # shellcheck disable=SC2086
        set -- $l
        set +f
        case $1 in
        d???------*) ;;
        *) die "the backup directory $d is open to other users ($1): run \`chmod 700 '$d'\` (or choose another --backup-dir)" ;;
        esac
        [ "$3" = "$me" ] ||
            die "the backup directory $d belongs to uid $3, not to uid $me that runs the upgrade: choose another --backup-dir"
    done
}

# room ROOT BACKUP: KiB of data, KiB free where the backup goes, and how many copies of the
# data the backup needs there (2 where tar cannot stream the verification).
room() {
    s=$(du -sk "$1/data") || exit 1
    printf '%s\n' "${s%%[!0-9]*}"
    d=$2
    while [ ! -d "$d" ]; do d=$(dirname "$d"); done
    f=$(df -Pk "$d") || exit 1
    printf '%s\n' "$f" | awk 'NR == 2 { print $4 }'
    if [ -n "$gnutar" ]; then echo 1; else echo 2; fi
}

# back-up ROOT COMPOSE BACKUP: run with the server stopped. A running MongoDB or Elasticsearch
# rewrites its files all the time, so a manifest of live data could never match its archive.
back_up() {
    absolute "$1"; r=$abs
    absolute "$2"; cf=$abs
    absolute "$3"; b=$abs
    mkdir -p "$b" && chmod 700 "$b" || die "cannot make the backup directory $b"
    # Made by someone else between the preflight and now? Then not ours to fill.
    private "$b"
    work "$b"
    manifest "$r/data" "$b/manifest.data" "$w/m" || exit 1
    if [ -d "$r/config" ]; then manifest "$r/config" "$b/manifest.config" "$w/m" || exit 1; fi
    one "$cf" docker-compose.yml "$w/m" >"$w/files" || exit 1
    if [ -f "$r/.env" ]; then one "$r/.env" .env "$w/m" >>"$w/files" || exit 1; fi
    sort -t ' ' -k 6 "$w/files" >"$b/manifest.files" || die "cannot write $b/manifest.files"
    hard=
    [ -n "$gnutar" ] && hard=--hard-dereference
    tar -czf "$b/clearml_backup_data.tgz" $hard -C "$r/data" . || exit 1
    if [ -d "$r/config" ]; then tar -czf "$b/clearml_backup_config.tgz" $hard -C "$r/config" . || exit 1; fi
    # Copies made afresh (not `cp -p`): ours, and 0600 under the umask; chmod says so anyway.
    cp "$cf" "$b/docker-compose.yml" || exit 1
    cp "$r/.clearfleet/images" "$b/images" || exit 1
    if [ -f "$r/.env" ]; then cp "$r/.env" "$b/.env" || exit 1; fi
    for f in "$b"/* "$b"/.env; do
        if [ -f "$f" ]; then chmod 600 "$f" || exit 1; fi
    done
}

# verify BACKUP: gzip's integrity and the content of each archive against its manifest, and
# the copies of the compose file and .env against theirs (content only: the copies are 0600).
verify() {
    absolute "$1"; b=$abs
    work "$b"
    failed=
    owners=
    [ -z "$gnutar" ] && [ -z "$root" ] && owners=owner
    for part in data config; do
        a=$b/clearml_backup_$part.tgz
        m=$b/manifest.$part
        [ "$part" = config ] && [ ! -e "$a" ] && [ ! -e "$m" ] && continue
        [ -f "$m" ] || die "$m is missing"
        [ -f "$a" ] || die "$a is missing"
        gzip -t "$a" || die "${a##*/} is damaged (gzip -t)"
        archived "$a" "$w/archive.$part" "$w" || exit 1
        if compare "${a##*/}" "$m" "$w/archive.$part" "$owners"; then
            echo "${a##*/}: its $(wc -l <"$m") entries as recorded"
        else
            failed=1
        fi
    done
    one "$b/docker-compose.yml" docker-compose.yml "$w/m" >"$w/copies" || exit 1
    if [ -e "$b/.env" ]; then one "$b/.env" .env "$w/m" >>"$w/copies" || exit 1; fi
    sort -t ' ' -k 6 "$w/copies" >"$w/copies.sorted" || exit 1
    compare "the copies of the compose file and .env" "$b/manifest.files" "$w/copies.sorted" "mode owner" || failed=1
    [ -z "$failed" ] || exit 1
}

# restore BACKUP ROOT COMPOSE: the documented restore, then every restored entry against the
# manifest, before rollback.yml gives the files to uid 1000 and starts the old server.
# Nothing in the backup changes. A backup of an earlier clearfleet has no manifest: restored
# as before, unchecked (said on stdout).
restore() {
    absolute "$1"; b=$abs
    absolute "$2"; r=$abs
    absolute "$3"; cf=$abs
    work "$b"
    test -s "$b/clearml_backup_data.tgz" || die "no data archive in $b"
    for a in "$b"/clearml_backup_data.tgz "$b"/clearml_backup_config.tgz; do
        if [ -f "$a" ]; then
            gzip -t "$a" || die "${a##*/} is damaged (gzip -t): nothing was restored"
        fi
    done
    numeric=
    [ -n "$gnutar" ] && numeric=--numeric-owner
    rm -rf "$r"/data/* "$r"/data/.[!.]* "$r"/data/..?* 2>/dev/null || true
    tar -xpzf "$b/clearml_backup_data.tgz" $numeric -C "$r/data" || exit 1
    if [ -f "$b/clearml_backup_config.tgz" ]; then
        rm -rf "$r"/config/* "$r"/config/.[!.]* "$r"/config/..?* 2>/dev/null || true
        tar -xpzf "$b/clearml_backup_config.tgz" $numeric -C "$r/config" || exit 1
    fi
    if [ ! -f "$b/manifest.files" ]; then
        cp -p "$b/docker-compose.yml" "$cf" || exit 1
        if [ -f "$b/.env" ]; then cp -p "$b/.env" "$r/.env" || exit 1; else rm -f "$r/.env"; fi
        echo "no manifest in $b (a backup of an earlier clearfleet): the restored files are not checked"
        return
    fi
    # Each copy back with the mode (and, for root, the owner) it had.
    cp "$b/docker-compose.yml" "$cf" || exit 1
    if [ -f "$b/.env" ]; then cp "$b/.env" "$r/.env" || exit 1; else rm -f "$r/.env"; fi
    awk '$1 == "f" { print $2, $3, substr($0, index($0, " ./") + 3) }' "$b/manifest.files" >"$w/modes" || exit 1
    while read -r mode owner name; do
        case $name in
        .env) f=$r/.env ;;
        *) f=$cf ;;
        esac
        chmod "$mode" "$f" || exit 1
        if [ -n "$root" ]; then chown "$owner" "$f" || exit 1; fi
    done <"$w/modes"
    owners=owner
    [ -n "$root" ] && owners=
    failed=
    for part in data config; do
        [ -f "$b/manifest.$part" ] || continue
        manifest "$r/$part" "$w/restored.$part" "$w/m" || exit 1
        compare "the restored $part" "$b/manifest.$part" "$w/restored.$part" "$owners" 2>>"$w/failures" || failed=1
    done
    one "$cf" docker-compose.yml "$w/m" >"$w/files" || exit 1
    if [ -e "$r/.env" ]; then one "$r/.env" .env "$w/m" >>"$w/files" || exit 1; fi
    sort -t ' ' -k 6 "$w/files" >"$w/files.sorted" || exit 1
    compare "the restored compose file and .env" "$b/manifest.files" "$w/files.sorted" "$owners" 2>>"$w/failures" || failed=1
    if [ -n "$failed" ]; then
        die "$(tr '\n' ' ' <"$w/failures")(the backup in $b is as it was)"
    fi
    echo "the restored data, config, compose file and .env match the backup's manifests"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
private) private "$@" ;;
room) room "$@" ;;
back-up) back_up "$@" ;;
verify) verify "$@" ;;
restore) restore "$@" ;;
manifest)
    absolute "$1"
    t=$(mktemp -d) || exit 1
    trap 'rm -rf "$t"' EXIT
    manifest "$abs" "$t/out" "$t/w" && cat "$t/out"
    ;;
*) die "usage: backup.sh private|room|back-up|verify|restore|manifest ARGS" ;;
esac
