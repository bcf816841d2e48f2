#!/usr/bin/env sh
# Print the path of a Python >= 3.12 (mitmproxy 12 needs it), or explain what to install.
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
for cand in "${PYTHON:-}" python3.12 python3.13 python3; do
  [ -n "$cand" ] || continue
  path=$(command -v "$cand" 2>/dev/null) || continue
  if ok "$path"; then echo "$path"; exit 0; fi
done
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for dir in $(ls -d "$root"/versions/3.12* "$root"/versions/3.13* 2>/dev/null); do
  if ok "$dir/bin/python3"; then echo "$dir/bin/python3"; exit 0; fi
done
echo "error: Airlock needs Python 3.12 or newer (mitmproxy 12)." >&2
echo "Install one, e.g. 'pyenv install 3.12' or 'apt-get install python3.12 python3.12-venv'," >&2
echo "or point PYTHON=/path/to/python3.12 at it." >&2
exit 1
