# steward's fact gathering: one POSIX sh script, one round trip (see mod.rs).
#
# Each collector is a function c_NAME; steward appends the calls for the collectors a task
# asks for. Output is a stream of sections: a line "\036NAME" (record separator, then the
# section's name), then the section's raw text. S prints the newline before the marker, so a
# section's text is exactly what its commands printed (the parser drops that one newline).
# Nothing here exports a variable: `env` must show the login environment, as Ansible's does.

# Tools are looked up as Ansible's get_bin_path does: PATH, then the sbin folders (a user's
# PATH often lacks them; capsh, ethtool, lvm's tools live there). env shows the PATH as it was.
_path0=$PATH
PATH=$PATH:/sbin:/usr/sbin:/usr/local/sbin

S() { printf '\n\036%s\n' "$1"; }
# R NAME FILE: the whole file as section NAME, if it can be read.
R() { [ -r "$2" ] && [ -f "$2" ] && { S "$1"; cat "$2" 2>/dev/null; }; }
# V KEY FILE: "KEY=first line" if the file reads (sysfs files that refuse a read are skipped).
# The shell's own `read`, not cat: there are hundreds of these and a fork each adds up.
V() { _v=; { IFS= read -r _v || [ -n "$_v" ]; } 2>/dev/null <"$2" && printf '%s=%s\n' "$1" "$_v"; }
# H KEY HOLDER: "KEY=dm-N NAME", NAME the device-mapper name if it has one.
H() { _v=; { IFS= read -r _v || [ -n "$_v" ]; } 2>/dev/null <"$2/dm/name"; printf '%s=%s %s\n' "$1" "${2##*/}" "$_v"; }
# X KEY PATH: "KEY=true" if PATH exists.
X() { [ -e "$2" ] && printf '%s=true\n' "$1"; }
# C CMD: CMD is on PATH.
C() { command -v "$1" >/dev/null 2>&1; }
# T SECONDS CMD...: run with a time limit where coreutils' timeout is there.
T() { _t=$1; shift; if C timeout; then timeout "$_t" "$@"; else "$@"; fi; }

c_platform() {
  S uname
  printf 's=%s\nr=%s\nv=%s\nm=%s\nn=%s\n' "$(uname -s)" "$(uname -r)" "$(uname -v)" "$(uname -m)" "$(uname -n)"
  # Python's socket.getfqdn(): the name's address, then that address's names.
  _ip=$(getent hosts "$(uname -n)" 2>/dev/null | awk '{ print $1; exit }')
  [ -n "$_ip" ] && printf 'hosts=%s\n' "$(getent hosts "$_ip" 2>/dev/null | head -n1)"
  printf 'long_bit=%s\n' "$(getconf LONG_BIT 2>/dev/null)"
  if [ -s /var/lib/dbus/machine-id ]; then R machine_id /var/lib/dbus/machine-id; else R machine_id /etc/machine-id; fi
  c_python
}

c_python() {
  # platform needs the version too (python_version): run once for both.
  [ -z "${_py_done:-}" ] || return 0
  _py_done=1
  _pv=
  if [ -n "${STEWARD_PY:-}" ]; then
    _py=$STEWARD_PY
    [ -x "$_py" ] && _pv=$("$_py" -V 2>&1)
  else
    # Ansible's interpreter discovery order, newest first; a candidate that does not run
    # (a pyenv shim for a version not installed) is passed over.
    for _p in python3.14 python3.13 python3.12 python3.11 python3.10 python3.9 python3.8 /usr/bin/python3 /usr/libexec/platform-python; do
      _py=$(command -v "$_p" 2>/dev/null) || continue
      _pv=$("$_py" -V 2>&1) || { _pv=; continue; }
      case $_pv in Python*) break ;; *) _pv= ;; esac
    done
  fi
  [ -n "$_pv" ] || return 0
  S python
  printf 'executable=%s\n' "$_py"
  printf 'version=%s\n' "$_pv"
}

c_distribution() {
  R os_release /etc/os-release || R os_release /usr/lib/os-release
  R debian_version /etc/debian_version
  R lsb_release_file /etc/lsb-release
  for _f in /etc/altlinux-release /etc/oracle-release /etc/slackware-version /etc/centos-release /etc/redhat-release \
    /etc/vmware-release /etc/openwrt_release /etc/system-release /etc/alpine-release /etc/arch-release \
    /etc/SuSE-release /etc/gentoo-release /etc/sourcemage-release /etc/coreos/update.conf; do
    [ -e "$_f" ] && { S "distfile $_f"; cat "$_f" 2>/dev/null; }
  done
}

c_lsb() {
  if C lsb_release; then S lsb_release; lsb_release -a 2>/dev/null; fi
  R lsb_release_file /etc/lsb-release
}

c_selinux() {
  S selinux
  for _d in /lib/*-linux-gnu /usr/lib/*-linux-gnu /lib64 /usr/lib64 /lib /usr/lib; do
    [ -e "$_d/libselinux.so.1" ] && { echo lib=true; break; }
  done
  X fs /sys/fs/selinux/enforce
  V enforce /sys/fs/selinux/enforce
  V policyvers /sys/fs/selinux/policyvers
  [ -r /etc/selinux/config ] && sed -n 's/^[ \t]*\(SELINUX\|SELINUXTYPE\)[ \t]*=[ \t]*/config_\1=/p' /etc/selinux/config
}

c_apparmor() { S apparmor; X enabled /sys/kernel/security/apparmor; }

c_chroot() {
  S chroot
  printf 'debian_chroot=%s\n' "${debian_chroot:-}"
  printf 'root=%s\n' "$(stat -c '%i %d' / 2>/dev/null)"
  printf 'proc_root=%s\n' "$(stat -c '%i %d' /proc/1/root/. 2>/dev/null)"
  printf 'fstype=%s\n' "$(stat -f --format=%T / 2>/dev/null)"
}

c_fips() { S fips; V enabled /proc/sys/crypto/fips_enabled; }

c_caps() { if C capsh; then S capsh; capsh --print 2>/dev/null; echo "rc=$?"; fi; }

c_pkg_mgr() {
  S pkg_mgr
  for _p in /usr/bin/rpm-ostree /usr/bin/yum /usr/bin/dnf-3 /usr/bin/dnf5 /usr/bin/apt-get /usr/bin/zypper \
    /usr/sbin/urpmi /usr/bin/pacman /bin/opkg /usr/pkg/bin/pkgin /opt/local/bin/pkgin /opt/tools/bin/pkgin \
    /opt/local/bin/port /usr/local/bin/brew /opt/homebrew/bin/brew /sbin/apk /usr/sbin/pkg /usr/sbin/swlist \
    /usr/bin/emerge /usr/sbin/pkgadd /usr/bin/pkg /usr/bin/xbps-install /usr/local/sbin/pkg /usr/bin/swupd \
    /usr/sbin/sorcery /usr/bin/installp /run/ostree-booted /usr/bin/dnf /usr/bin/microdnf; do
    [ -e "$_p" ] && echo "$_p"
  done
  for _p in /usr/bin/dnf /usr/bin/microdnf; do [ -e "$_p" ] && echo "real $_p $(readlink -f "$_p")"; done
  if [ -e /usr/bin/rpm ] && [ -e /usr/bin/apt-get ]; then
    /usr/bin/rpm -q --whatprovides /usr/bin/apt-get >/dev/null 2>&1 && echo apt_rpm
  fi
}

c_service_mgr() {
  S service_mgr
  if [ -r /proc/1/comm ]; then printf 'comm=%s\n' "$(cat /proc/1/comm 2>/dev/null)"; else
    printf 'ps=%s\n' "$(ps -p 1 -o comm 2>/dev/null | tail -n 1)"
  fi
  [ -L /sbin/init ] && printf 'init_link=%s\n' "$(readlink /sbin/init)"
  C systemctl && echo systemctl=true
  C initctl && echo initctl=true
  for _p in /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/; do X canary "$_p"; done
  X etc_init /etc/init/
  X openrc /sbin/openrc
  X initd /etc/init.d/
  X dinit /etc/dinit.d/
}

c_systemd() {
  C systemctl || return 0
  for _p in /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/; do
    if [ -e "$_p" ]; then S systemd; systemctl --version 2>/dev/null; return 0; fi
  done
}

c_cmdline() { R cmdline /proc/cmdline; }

c_date_time() {
  S date_time
  LC_ALL=C date '+%s %N %z %Z|%Y|%m|%A|%w|%W|%d|%H|%M|%S'
  _y=$(date +%Y)
  printf 'jan=%s\njul=%s\n' "$(LC_ALL=C date -d "$_y-01-01 12:00" '+%z %Z' 2>/dev/null)" \
    "$(LC_ALL=C date -d "$_y-07-01 12:00" '+%z %Z' 2>/dev/null)"
}

c_env() { S env; PATH=$_path0 env -0 2>/dev/null || PATH=$_path0 env; }

c_loadavg() { R loadavg /proc/loadavg; }

c_ssh_pub_keys() {
  for _d in /etc/ssh /etc/openssh /etc; do
    for _a in dsa rsa ecdsa ed25519; do R "ssh $_d $_a" "$_d/ssh_host_${_a}_key.pub"; done
  done
}

c_user() {
  S user
  _u=${LOGNAME:-${USER:-${LNAME:-${USERNAME:-}}}}
  [ -n "$_u" ] || _u=$(id -un 2>/dev/null)
  printf 'name=%s\n' "$_u"
  printf 'pwnam=%s\n' "$(getent passwd "$_u" 2>/dev/null | head -n1)"
  printf 'pwuid=%s\n' "$(getent passwd "$(id -u)" 2>/dev/null | head -n1)"
  printf 'ids=%s %s %s %s\n' "$(id -ru)" "$(id -u)" "$(id -rg)" "$(id -g)"
}

c_virtual() {
  R proc1_cgroup /proc/1/cgroup
  [ -r /proc/1/environ ] && { S proc1_environ; tr '\000' '\n' </proc/1/environ 2>/dev/null; }
  S virtual
  X vz /proc/vz; X lve /proc/lve; X bc /proc/bc; X dockerenv /.dockerenv; X dockerinit /.dockerinit
  X xen /proc/xen; X dev_kvm /dev/kvm; X rhev /rhev/
  V systemd_container /run/systemd/container
  grep -q control_d /proc/xen/capabilities 2>/dev/null && echo xen_host=true
  for _k in product_name sys_vendor product_family bios_vendor; do V "$_k" "/sys/devices/virtual/dmi/id/$_k"; done
  sed -n 's/^VxID:[[:space:]]*/vxid=/p' /proc/self/status 2>/dev/null
  [ -r /proc/modules ] && { printf 'modules='; cut -d' ' -f1 /proc/modules | tr '\n' ' '; echo; }
  if [ -d /rhev/ ]; then cat /proc/[0-9]*/comm 2>/dev/null | grep -qx 'vdsmd\?' && echo vdsm=true; fi
  C dmidecode && printf 'dmidecode=%s\n' "$(dmidecode -s system-product-name 2>/dev/null | grep -v '^#' | tr -d '\n')"
  [ -e /proc/cpuinfo ] && { S virtual_cpuinfo; grep -E '^(model name|vendor_id|machine)' /proc/cpuinfo 2>/dev/null; }
  if grep -q '^vendor_id.*IBM/S390' /proc/cpuinfo 2>/dev/null && C lscpu; then S lscpu; lscpu 2>/dev/null; fi
}

c_hardware() {
  R cpuinfo /proc/cpuinfo
  R meminfo /proc/meminfo
  R uptime /proc/uptime
  R sysinfo /proc/sysinfo
  S hw
  X xen /proc/xen
  V hypervisor /sys/hypervisor/type
  printf 'nproc=%s\n' "$(nproc 2>/dev/null)"
  printf 'uid=%s\n' "$(id -u)"
  _dmi=/sys/devices/virtual/dmi/id
  if [ -e $_dmi/product_name ]; then
    S dmi
    for _k in bios_date bios_vendor bios_version board_asset_tag board_name board_serial board_vendor board_version \
      chassis_asset_tag chassis_serial chassis_vendor chassis_version chassis_type product_name product_serial \
      product_uuid product_version sys_vendor; do V "$_k" "$_dmi/$_k"; done
  elif C dmidecode; then
    S dmidecode
    for _k in bios-release-date bios-vendor bios-version baseboard-asset-tag baseboard-product-name \
      baseboard-serial-number baseboard-manufacturer baseboard-version chassis-asset-tag chassis-serial-number \
      chassis-manufacturer chassis-version chassis-type system-product-name system-serial-number system-uuid \
      system-version system-manufacturer; do
      _v=$(dmidecode -s "$_k" 2>/dev/null) && printf '%s=%s\n' "$_k" "$(printf '%s\n' "$_v" | grep -v '^#' | tr -d '\n')"
    done
  fi
  c_devices
  c_lvm
  c_mounts
}

c_devices() {
  C lspci && { S lspci; lspci -D 2>/dev/null; }
  for _t in by-id by-uuid by-label; do
    [ -d "/dev/disk/$_t" ] || continue
    S "links $_t"
    for _l in $(ls -U "/dev/disk/$_t" 2>/dev/null); do printf '%s %s\n' "$_l" "$(readlink "/dev/disk/$_t/$_l")"; done
  done
  S slaves
  for _s in /sys/block/*/slaves/*; do [ -e "$_s" ] && echo "$_s"; done
  [ -d /sys/block ] || return 0
  S blockdevs
  _sg=; C sg_inq && _sg=1
  for _b in $(ls -U /sys/block 2>/dev/null); do
    S "block $_b"
    if _l=$(readlink "/sys/block/$_b"); then echo "link=$_l"; _d="/sys/block/$_l"; else _d="/sys/block/$_b"; fi
    printf 'entries='; for _e in "$_d"/*; do printf '%s ' "${_e##*/}"; done; echo
    for _k in vendor model sas_address sas_device_handle serial; do V "$_k" "$_d/device/$_k"; done
    [ -n "$_sg" ] && printf 'sg_inq=%s\n' "$(sg_inq "/dev/$_b" 2>/dev/null | grep -E '(Unit serial|Serial) number:' | head -n1)"
    for _k in removable size; do V "$_k" "$_d/$_k"; done
    for _k in discard_max_hw_bytes discard_granularity rotational scheduler logical_block_size hw_sector_size; do
      V "$_k" "$_d/queue/$_k"
    done
    for _h in "$_d"/holders/*; do [ -e "$_h" ] && H holder "$_h"; done
    for _p in "$_d/$_b"*; do
      [ -d "$_p" ] || continue
      _n=${_p##*/}
      printf 'part=%s\n' "$_n"
      for _k in start size; do V "$_n.$_k" "$_p/$_k"; done
      for _k in logical_block_size hw_sector_size; do V "$_n.$_k" "$_p/queue/$_k"; done
      for _h in "$_p"/holders/*; do [ -e "$_h" ] && H "$_n.holder" "$_h"; done
    done
  done
}

c_lvm() {
  C vgs || return 0
  S lvm
  [ "$(id -u)" = 0 ] || return 0
  _o='--noheadings --nosuffix --units g --separator ,'
  # shellcheck disable=SC2086
  { vgs $_o 2>/dev/null | sed 's/^/vg /'; C lvs && lvs $_o 2>/dev/null | sed 's/^/lv /'; }
  # shellcheck disable=SC2086
  C pvs && pvs $_o 2>/dev/null | while read -r _l; do
    _dev=${_l%%,*}
    case $_dev in /dev/dm-*) _m=$(dmsetup info -C --noheadings -o name "$_dev" 2>/dev/null) && _dev=/dev/mapper/$_m ;; esac
    echo "pv $_dev ${_l#*,}"
  done
}

c_mounts() {
  _mt=/proc/mounts; [ -e /etc/mtab ] && _mt=/etc/mtab
  R mtab "$_mt"
  C findmnt && { S findmnt; findmnt --list --noheadings --notruncate 2>/dev/null; }
  C lsblk && { S lsblk; lsblk --list --noheadings --paths --output NAME,UUID --exclude 2 2>/dev/null; }
  # The mount points Ansible reports (a device path, or host:/path), octal escapes undone.
  _mp=$(awk 'function un(s,  o, i, c) {
        o = ""
        while ((i = match(s, /\\[0-7][0-7][0-7]/)) > 0) {
          c = (substr(s, i + 1, 1) * 64) + (substr(s, i + 2, 1) * 8) + substr(s, i + 3, 1)
          o = o substr(s, 1, i - 1) sprintf("%c", c); s = substr(s, i + 4)
        }
        return o s
      }
      NF >= 4 && ($1 ~ /^[\/\\]/ || $1 ~ /:\//) && $3 != "none" { print un($2) }' "$_mt" 2>/dev/null)
  [ -n "$_mp" ] || return 0
  S statfs
  printf '%s\n' "$_mp" | {
    set --
    while IFS= read -r _m; do set -- "$@" "$_m"; done
    T "${GATHER_TIMEOUT:-10}" stat -f -c '%S %s %b %a %c %d %n' -- "$@" 2>/dev/null
    echo "rc=$?"
  }
  if C udevadm; then
    S udevadm
    for _dev in $(awk '$1 ~ /^\// {print $1}' "$_mt" | sort -u); do
      printf '%s %s\n' "$_dev" "$(udevadm info --query property --name "$_dev" 2>/dev/null | sed -n 's/^ID_FS_UUID=//p')"
    done
  fi
}

c_network() {
  C ip || return 0
  S net_ifaces
  ls -U /sys/class/net 2>/dev/null
  for _i in $(ls -U /sys/class/net 2>/dev/null); do
    _p=/sys/class/net/$_i
    [ -d "$_p" ] || continue
    S "netdev $_i"
    for _k in address mtu operstate type speed flags; do V "$_k" "$_p/$_k"; done
    [ -e "$_p/device/driver/module" ] && printf 'module=%s\n' "$(basename "$(readlink -f "$_p/device/driver/module")")"
    [ -e "$_p/device" ] && printf 'pciid=%s\n' "$(basename "$(readlink "$_p/device")")"
    if [ -e "$_p/bridge" ]; then
      echo bridge=true
      printf 'brif=%s\n' "$(ls -U "$_p/brif" 2>/dev/null | tr '\n' ' ')"
      V bridge_id "$_p/bridge/bridge_id"
      V stp_state "$_p/bridge/stp_state"
    fi
    if [ -e "$_p/bonding" ]; then
      echo bonding=true
      for _k in slaves mode miimon lacp_rate primary all_slaves_active; do V "bond_$_k" "$_p/bonding/$_k"; done
    fi
    [ -e "$_p/bonding_slave" ] && { V perm_hwaddr "$_p/bonding_slave/perm_hwaddr" || echo perm_hwaddr=; }
    if C ethtool; then
      S "ethtool_k $_i"; ethtool -k "$_i" 2>/dev/null
      S "ethtool_t $_i"; ethtool -T "$_i" 2>/dev/null || echo "rc=$?"
    fi
  done
  S ip_primary; ip addr show primary 2>/dev/null || ip addr show 2>/dev/null
  S ip_secondary; ip addr show secondary 2>/dev/null
  S route4; ip -4 route get 8.8.8.8 2>/dev/null
  S route6; ip -6 route get 2404:6800:400a:800::1012 2>/dev/null
  S local4; ip -4 route show table local 2>/dev/null
  S local6; ip -6 route show table local 2>/dev/null
}

c_dns() { R resolv_conf /etc/resolv.conf; }

c_fibre_channel_wwn() {
  S fc_wwn
  for _f in /sys/class/fc_host/*/port_name; do [ -r "$_f" ] && cat "$_f"; done
}

c_iscsi() { R iscsi /etc/iscsi/initiatorname.iscsi; }

c_nvme() { R nvme /etc/nvme/hostnqn; }

c_local() {
  _fp=${FACT_PATH:-/etc/ansible/facts.d}
  [ -e "$_fp" ] || return 0
  S local_dir
  for _f in "$_fp"/*.fact; do
    [ -e "$_f" ] || [ -L "$_f" ] || continue
    if ! _m=$(stat -L -c %a "$_f" 2>/dev/null); then
      S "local_nostat $_f"; continue
    fi
    # S_IXUSR: the owner's execute bit, whoever runs this (as Ansible checks it).
    case $_m in *[1357][0-7][0-7]) _x=1 ;; *) _x= ;; esac
    if [ -n "$_x" ]; then
      _e=$(mktemp 2>/dev/null || echo "/tmp/.steward-fact-$$")
      # The script sees the PATH it would under Ansible (without the sbin folders added here).
      S "local_out $_f"; PATH=$_path0 "$_f" </dev/null 2>"$_e"; _rc=$?
      S "local_rc $_f"; echo "$_rc"
      S "local_err $_f"; cat "$_e" 2>/dev/null; rm -f "$_e"
    else
      if [ -r "$_f" ]; then S "local_file $_f"; cat "$_f" 2>/dev/null; else S "local_unreadable $_f"; fi
    fi
  done
}
