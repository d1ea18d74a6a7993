"""Text of every deployment file; ``@@NAME@@`` placeholders are filled by :mod:`render`.

Kept as data so tests can parse every key. Units are hardened (read-only system, no home, private
/tmp, no privilege gain, writes only to the data directory) and every scheduled job has an
``OnFailure=`` alert for failures that happen before Python can report them (exit 126/127/203).
"""

from __future__ import annotations

HARDENING = """\
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
RestrictNamespaces=yes
RestrictRealtime=yes
LockPersonality=yes
CapabilityBoundingSet=
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
UMask=0027
ReadWritePaths=@@DATA@@
"""

SERVICE_COMMON = """\
User=@@USER@@
Group=@@USER@@
WorkingDirectory=@@DATA@@
EnvironmentFile=@@ENV_FILE@@
"""

WEB_SERVICE = """\
[Unit]
Description=BookedBiz web application (loopback port @@WEB_PORT@@, behind the TLS proxy)
Wants=network-online.target
After=network-online.target
OnFailure=bookedbiz-alert@%n.service

[Service]
Type=simple
# Loopback only: browsers reach it through Caddy (caddy/Caddyfile) over HTTPS.
@@COMMON@@ExecStart=@@BIN@@ serve --host 127.0.0.1 --port @@WEB_PORT@@
Restart=always
RestartSec=3
@@HARDENING@@
[Install]
WantedBy=multi-user.target
"""

JOB_SERVICE = """\
[Unit]
Description=BookedBiz job: @@JOB@@
Wants=network-online.target
After=network-online.target
OnFailure=bookedbiz-alert@%n.service

[Service]
Type=oneshot
@@COMMON@@ExecStart=@@BIN@@ jobs run @@JOB@@
# The runner kills its steps after JOB_TIME_BUDGET_SECONDS and still records and alerts;
# systemd's own limit is a backstop a little later.
TimeoutStartSec=@@TIMEOUT@@
@@HARDENING@@"""

# Digests (SPEC §2): 'digest send' is idempotent per period (a subscription remembers what it
# was last sent for), so a timer that fires twice, or late, sends each digest once.
DIGEST_SERVICE = """\
[Unit]
Description=BookedBiz @@KIND@@ digest
Wants=network-online.target
After=network-online.target bookedbiz-daily-update.service
OnFailure=bookedbiz-alert@%n.service

[Service]
Type=oneshot
@@COMMON@@ExecStart=@@BIN@@ digest send @@KIND@@
TimeoutStartSec=@@TIMEOUT@@
@@HARDENING@@"""

TIMER = """\
[Unit]
Description=Schedule for BookedBiz @@JOB@@

[Timer]
OnCalendar=@@CALENDAR@@
@@DELAY@@Persistent=true
Unit=bookedbiz-@@JOB@@.service

[Install]
WantedBy=timers.target
"""

EXPLORE_SERVICE = """\
[Unit]
Description=BookedBiz Datasette explorer (read-only, @@EXPLORE_HOST@@:@@EXPLORE_PORT@@)
After=network.target
OnFailure=bookedbiz-alert@%n.service

[Service]
Type=simple
@@COMMON@@ExecStart=@@BIN@@ explore --host @@EXPLORE_HOST@@ --port @@EXPLORE_PORT@@
Restart=always
RestartSec=10
@@HARDENING@@
[Install]
WantedBy=multi-user.target
"""

ALERT_SERVICE = """\
[Unit]
Description=BookedBiz alert: unit %i failed

[Service]
Type=oneshot
@@COMMON@@ExecStart=/bin/sh @@ALERT_SCRIPT@@ %i
TimeoutStartSec=120
@@HARDENING@@"""

ALERT_SCRIPT = """\
# BookedBiz OnFailure alert (run by bookedbiz-alert@.service with /bin/sh, so no execute bit
# is needed). It fires when a unit fails, including failures before Python starts (exit 126,
# 127, 203/EXEC: the runner cannot report those itself).
unit="$1"
host="$(hostname)"
status="$(systemctl show -p ExecMainStatus --value "$unit" 2>/dev/null)"
mainpid="$(systemctl show -p ExecMainPID --value "$unit" 2>/dev/null)"
job="${unit#bookedbiz-}"
job="${job%.service}"
beat="@@DATA@@/heartbeats/$job.json"
if [ "$status" = "75" ]; then
  logger -t bookedbiz-alert "unit $unit skipped (lock busy); the runner reported it"
  exit 0
fi
if [ -n "$mainpid" ] && [ -f "$beat" ] && grep -q "\\"pid\\": $mainpid," "$beat"; then
  logger -t bookedbiz-alert "unit $unit failed (status $status); the runner already alerted"
  exit 0
fi
msg="systemd unit $unit failed on $host (exit status ${status:-unknown})"
msg="$msg before BookedBiz could report it. Check: journalctl -u $unit -n 50"
title="BookedBiz unit $unit FAILED on $host"
if @@BIN@@ notify send --level failure --title "$title" --message "$msg"; then
  exit 0
fi
logger -p user.crit -t bookedbiz-alert "$msg (and 'bookedbiz notify send' failed)"
if [ -n "$ALERT_FALLBACK_NTFY_URL" ]; then
  curl -fsS -m 15 -H "Title: BookedBiz unit $unit FAILED" -H "Priority: 5" \\
    -H "Tags: rotating_light" -d "$msg" "$ALERT_FALLBACK_NTFY_URL" >/dev/null && exit 0
fi
exit 1
"""

ENV_FILE = """\
# BookedBiz environment, read by systemd (EnvironmentFile=) for every BookedBiz unit.
# Install it ONCE, owned by root with mode 0600 (systemd reads it as root before switching to
# the service user, so no other account needs to read the secrets):
#   sudo install -D -o root -g root -m 0600 bookedbiz.env @@ENV_FILE@@
# Never commit this file. It is a template: no real secret is filled in.

DATABASE_PATH=@@DATA@@/bookedbiz.db
DATA_PATH=@@DATA@@

# Web sessions: generate with  python3 -c "import secrets; print(secrets.token_hex(32))"
#SECRET_KEY=
# The web app listens on 127.0.0.1 behind the TLS proxy (Caddy or 'tailscale serve'): Secure
# cookies, HSTS, and the client address from the proxy's X-Forwarded-For (loopback peers only).
# Set it to 0 only if browsers reach the app without TLS (then nobody should sign in remotely).
BEHIND_TLS_PROXY=1

# Digests by e-mail: an Apprise mailto:// or mailtos:// URL of the mail server, WITHOUT
# recipients (each user's own address is added to every message), e.g.
#   mailtos://digest:<password>@smtp.example.com:587?from=bookedbiz@station.example
#MAIL_URL=

# Alerts: Apprise URLs, comma or space separated, e.g.
#   ntfys://ntfy.sh/<long-random-topic>   (the topic is the password: keep it secret)
#   slack://<token_a>/<token_b>/<token_c>
#NOTIFY_URLS=
# Legacy settings from the old wrappers are still understood:
#NTFY_TOPIC=
#SLACK_WEBHOOK_URL=
# Used by curl when even Python cannot start (the OnFailure alert's last resort):
#ALERT_FALLBACK_NTFY_URL=https://ntfy.sh/<topic>
NOTIFY_SUCCESS=true

# Off-site backup (Dropbox app with a refresh token)
#DROPBOX_APP_KEY=
#DROPBOX_APP_SECRET=
#DROPBOX_REFRESH_TOKEN=
DROPBOX_DB_PATH=/database.db
DROPBOX_BACKUP_FOLDER=/backups

# Daily logs (raw/daily) stay as they are this many days, then are zipped by month; the
# backup job uploads both ('sync logs'), so 'history backfill' can rebuild after a disaster.
DAILY_LOG_KEEP_DAYS=14

# Monitoring and job limits
HEARTBEAT_MAX_AGE_HOURS=26
JOB_TIME_BUDGET_SECONDS=@@BUDGET@@
"""

LOGROTATE = """\
# /etc/logrotate.d/bookedbiz — the job runner reopens its log on every run, so 'create' works.
@@LOGS@@ {
    weekly
    rotate 8
    compress
    delaycompress
    missingok
    notifempty
    create 0640 @@USER@@ @@USER@@
    su @@USER@@ @@USER@@
}
"""

ADMIN_WRAPPER = """\
#!/bin/sh
# Run a bookedbiz command as the service user with the service environment, e.g.
#   sudo bookedbiz-admin doctor
# (the env file is root-only, so plain shells do not see the secrets).
exec systemd-run --quiet --pipe --wait --collect --service-type=exec \\
  -p User=@@USER@@ -p Group=@@USER@@ -p EnvironmentFile=@@ENV_FILE@@ \\
  -p WorkingDirectory=@@DATA@@ @@BIN@@ "$@"
"""

INSTALL_SCRIPT = """\
# Install the rendered BookedBiz deployment files. Run as root:  sudo bash install.sh
# It creates the service user and data directory, copies units, the env template (only if none
# exists yet), logrotate and helper scripts with explicit modes, then reloads and verifies.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
if ! id -u @@USER@@ >/dev/null 2>&1; then
  useradd --system --home-dir @@DATA@@ --shell /usr/sbin/nologin @@USER@@
fi
install -d -o @@USER@@ -g @@USER@@ -m 0750 @@DATA@@ @@DATA@@/logs @@DATA@@/locks @@DATA@@/heartbeats
install -d -o root -g root -m 0755 "$(dirname @@ENV_FILE@@)"
if [ ! -e @@ENV_FILE@@ ]; then
  install -o root -g root -m 0600 "$here/etc/bookedbiz.env" @@ENV_FILE@@
fi
chmod 0600 @@ENV_FILE@@
install -o root -g root -m 0644 "$here"/systemd/* /etc/systemd/system/
install -o root -g root -m 0644 "$here/logrotate/bookedbiz" /etc/logrotate.d/bookedbiz
install -D -o root -g root -m 0644 "$here/lib/bookedbiz-alert.sh" @@ALERT_SCRIPT@@
install -o root -g root -m 0755 "$here/bin/bookedbiz-admin" /usr/local/sbin/bookedbiz-admin
systemctl daemon-reload
systemd-analyze verify /etc/systemd/system/bookedbiz-*.service /etc/systemd/system/bookedbiz-*.timer
if command -v caddy >/dev/null 2>&1; then
  caddy validate --config "$here/caddy/Caddyfile" --adapter caddyfile
  if [ -e /etc/caddy/Caddyfile ] && ! cmp -s "$here/caddy/Caddyfile" /etc/caddy/Caddyfile; then
    cp -p /etc/caddy/Caddyfile "/etc/caddy/Caddyfile.before-bookedbiz-$(date +%Y%m%d%H%M%S)"
  fi
  install -D -o root -g root -m 0644 "$here/caddy/Caddyfile" /etc/caddy/Caddyfile
  echo "TLS: caddy is configured; run: systemctl enable caddy && systemctl reload-or-restart caddy"
else
  echo "TLS: install the TLS terminator first (apt-get install caddy), then run this again."
fi
echo "Installed. Enable with: systemctl enable --now @@ENABLE@@"
"""

CADDYFILE = """\
# Caddy site for BookedBiz, rendered by 'bookedbiz deploy render' (Debian package: caddy).
# Installed as /etc/caddy/Caddyfile by install.sh; check it with
#   caddy validate --config /etc/caddy/Caddyfile --adapter caddyfile
# Caddy terminates TLS (and redirects http:// to https://) and forwards to the web app on
# 127.0.0.1:@@WEB_PORT@@. The app (BEHIND_TLS_PROXY=1 in the env file) marks its cookies
# Secure, sends HSTS and takes the client address from X-Forwarded-For, which Caddy sets itself
# (replacing whatever a client sent). The Datasette explorer is not published: it stays on
# loopback (reach it with an SSH tunnel).
{
\tadmin localhost:2019
}

@@SERVER_NAMES@@ {
\ttls @@TLS@@
\tencode gzip
\theader -Server
\treverse_proxy 127.0.0.1:@@WEB_PORT@@ {
\t\theader_up -Forwarded
\t}
}
"""
