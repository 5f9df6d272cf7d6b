# clearfleet's fact gathering: one POSIX sh run per host (Linux and macOS). Each section starts
# with a line `@@name`; `env` comes last and runs to the end (NUL-separated where `env -0` works).
# $PY (set before this script) is the Python to describe, `auto` for Ansible's discovery list;
# $GT the seconds a collector may take (setup's gather_timeout), $FP setup's fact_path.
echo @@uname; uname -s; uname -r; uname -v; uname -m; uname -n
echo @@hostname; hostname 2>/dev/null
echo @@user; id -un; id -u; id -g
echo @@passwd; getent passwd "$(id -un)" 2>/dev/null || grep "^$(id -un):" /etc/passwd 2>/dev/null
echo @@os_release; cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null
echo @@debian_version; cat /etc/debian_version 2>/dev/null
echo @@sw_vers; command -v sw_vers >/dev/null 2>&1 && sw_vers -productVersion
if command -v lsb_release >/dev/null 2>&1; then echo @@lsb_release; lsb_release -a 2>/dev/null
elif [ -r /etc/lsb-release ]; then echo @@lsb_file; cat /etc/lsb-release; fi
echo @@cpuinfo; grep -E '^(processor|vendor_id|model name|Processor|cpu|Vendor|physical id|core id|cpu cores|siblings)[[:space:]]*:' /proc/cpuinfo 2>/dev/null
echo @@nproc; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null
echo @@meminfo; grep -E '^(MemTotal|MemFree|SwapTotal|SwapFree):' /proc/meminfo 2>/dev/null
echo @@date; date '+%Y %m %d %H %M %S %z %A %w %W %s %N %Z'; date -u '+%Y-%m-%dT%H:%M:%S %Y%m%dT%H%M%S'
echo @@pid1; cat /proc/1/comm 2>/dev/null || ps -p 1 -o comm= 2>/dev/null
echo @@init; [ -L /sbin/init ] && readlink /sbin/init
echo @@service; command -v systemctl >/dev/null 2>&1 && { [ -d /run/systemd/system ] || [ -d /dev/.run/systemd ] || [ -d /dev/.systemd ]; } && echo systemd
command -v initctl >/dev/null 2>&1 && [ -d /etc/init ] && echo upstart; [ -e /sbin/openrc ] && echo openrc
command -v systemctl >/dev/null 2>&1 && [ -L /sbin/init ] && [ "$(basename "$(readlink /sbin/init)")" = systemd ] && echo systemd
[ -d /etc/init.d ] && echo sysvinit; [ -d /etc/dinit.d ] && echo dinit
echo @@pkg; for p in /usr/bin/rpm-ostree /usr/bin/yum /usr/bin/dnf-3 /usr/bin/dnf5 /usr/bin/apt-get /usr/bin/zypper /usr/sbin/urpmi /usr/bin/pacman /bin/opkg /usr/pkg/bin/pkgin /opt/local/bin/pkgin /opt/tools/bin/pkgin /opt/local/bin/port /usr/local/bin/brew /opt/homebrew/bin/brew /sbin/apk /usr/sbin/pkg /usr/sbin/swlist /usr/bin/emerge /usr/sbin/pkgadd /usr/bin/pkg /usr/bin/xbps-install /usr/local/sbin/pkg /usr/bin/swupd /usr/sbin/sorcery /usr/bin/installp; do [ -e "$p" ] && echo "$p"; done
IP=$(command -v ip 2>/dev/null || { [ -x /sbin/ip ] && echo /sbin/ip; } || { [ -x /usr/sbin/ip ] && echo /usr/sbin/ip; })
echo @@route4; [ -n "$IP" ] && "$IP" -4 route get 8.8.8.8 2>/dev/null
echo @@route6; [ -n "$IP" ] && "$IP" -6 route get 2404:6800:400a:800::1012 2>/dev/null
echo @@addr; [ -n "$IP" ] && "$IP" -o addr show 2>/dev/null
# In directory order (`ls -f`), as Ansible lists them.
echo @@links; for n in $(ls -f /sys/class/net 2>/dev/null); do d=/sys/class/net/$n; case $n in .|..) continue ;; esac; [ -d "$d" ] || continue; t=$(cat "$d/type" 2>/dev/null); [ -d "$d/bridge" ] && t=bridge; [ -d "$d/bonding" ] && t=bonding
echo "${d##*/} $(cat "$d/address" 2>/dev/null || echo -) $(cat "$d/mtu" 2>/dev/null || echo -) ${t:--}"; done
echo @@lsblk; lsblk --list --noheadings --paths --output NAME,UUID --exclude 2 2>/dev/null
echo @@findmnt; findmnt --list --noheadings --notruncate 2>/dev/null
echo @@mounts; set --
if [ -r /proc/mounts ]; then while read -r dev mnt fs opts dump pass; do
case $dev in /*|\\*) ;; *:/*) ;; *) continue ;; esac; [ "$fs" = none ] && continue
echo "$dev $mnt $fs $opts $dump $pass"; set -- "$@" "$(printf '%b' "$(printf '%s' "$mnt" | sed 's/\\\([0-7][0-7][0-7]\)/\\0\1/g')")"
done < /proc/mounts; fi
echo @@statfs; if [ $# -gt 0 ]; then if command -v timeout >/dev/null 2>&1; then timeout "$GT" stat -f -c '%s %S %b %f %a %c %d %n' "$@"; else stat -f -c '%s %S %b %f %a %c %d %n' "$@"; fi 2>/dev/null; fi
# Local facts (local.rs reads these lines): paths and contents in hex, `ls -lL`'s owner x bit
# deciding what runs, as local.py's `stat.S_IXUSR`.
echo @@local; if [ -n "$FP" ] && [ -e "$FP" ]; then for f in "$FP"/*.fact; do
[ -e "$f" ] || [ -L "$f" ] || continue; echo "file $(printf %s "$f" | od -An -v -tx1 | tr -d ' \n')"
[ -e "$f" ] || { echo stat; continue; }; x=$(ls -ldL "$f" 2>/dev/null | cut -c4)
if [ "$x" = x ] || [ "$x" = s ]; then T=$(mktemp) && { "$f" </dev/null >"$T" 2>"$T.e"; echo "rc $?"
echo "out $(od -An -v -tx1 <"$T" | tr -d ' \n')"; echo "err $(od -An -v -tx1 <"$T.e" | tr -d ' \n')"; rm -f "$T" "$T.e"; }
else echo "rc -"; echo "out $(od -An -v -tx1 <"$f" 2>/dev/null | tr -d ' \n')"; fi; done; fi
echo @@fips; cat /proc/sys/crypto/fips_enabled 2>/dev/null
echo @@docker; if command -v docker >/dev/null 2>&1; then echo yes; else echo no; fi
if docker compose version >/dev/null 2>&1; then echo v2; elif command -v docker-compose >/dev/null 2>&1; then echo v1; else echo none; fi
PYSRC='import sys, json, socket, time
v = sys.version_info
try:
    import ssl
    ctx = hasattr(ssl, "SSLContext")
except ImportError:
    ctx = False
print(json.dumps({"python": {"executable": sys.executable, "version": {"major": v[0], "minor": v[1], "micro": v[2], "releaselevel": v[3], "serial": v[4]}, "version_info": list(v), "type": sys.implementation.name, "has_sslcontext": ctx}, "fqdn": socket.getfqdn(), "tz_dst": time.tzname[1], "python_version": "%d.%d.%d" % tuple(v[:3])}))'
[ "$PY" = auto ] && PY='python3.13 python3.12 python3.11 python3.10 python3.9 python3.8 /usr/bin/python3 python3'
echo @@python; for p in $PY; do command -v "$p" >/dev/null 2>&1 && "$p" -c "$PYSRC" 2>/dev/null && break; done
echo @@env; env -0 2>/dev/null || env
