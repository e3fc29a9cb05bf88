#!/bin/sh
# Install MMStudio's launcher for the current user: the .desktop entry, the icons (hicolor),
# the project-file MIME type and the AppStream metainfo, under $XDG_DATA_HOME (~/.local/share).
#
#   packaging/linux/install-launcher.sh [PATH/TO/mmstudio]     install
#   packaging/linux/install-launcher.sh --uninstall            remove what install put there
#
# The launcher runs the given mmstudio executable; without one, `mmstudio` on PATH, else the
# repository's .venv/bin/mmstudio, else a PyInstaller build in dist/mmstudio/mmstudio.
set -eu
APP_ID=io.github.mmstudio.MMStudio
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
APPS=$DATA/applications
ICONS=$DATA/icons/hicolor
MIME=$DATA/mime
META=$DATA/metainfo

refresh() {
    if command -v update-desktop-database >/dev/null 2>&1; then update-desktop-database -q "$APPS" || true; fi
    if command -v update-mime-database >/dev/null 2>&1; then update-mime-database "$MIME" || true; fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1; then gtk-update-icon-cache -q -t "$ICONS" || true; fi
}

if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$APPS/$APP_ID.desktop" "$MIME/packages/$APP_ID.xml" "$META/$APP_ID.metainfo.xml"
    for size in 48x48 128x128 256x256; do rm -f "$ICONS/$size/apps/$APP_ID.png"; done
    rm -f "$ICONS/scalable/apps/$APP_ID.svg"
    refresh
    echo "Removed the MMStudio launcher from $DATA"
    exit 0
fi

EXE=${1:-}
if [ -z "$EXE" ]; then
    if command -v mmstudio >/dev/null 2>&1; then EXE=$(command -v mmstudio)
    elif [ -x "$REPO/.venv/bin/mmstudio" ]; then EXE=$REPO/.venv/bin/mmstudio
    elif [ -x "$REPO/dist/mmstudio/mmstudio" ]; then EXE=$REPO/dist/mmstudio/mmstudio
    else
        echo "install-launcher: no mmstudio executable found; give its path: $0 /path/to/mmstudio" >&2
        exit 2
    fi
fi
case $EXE in /*) ;; *) EXE=$(cd "$(dirname "$EXE")" && pwd)/$(basename "$EXE") ;; esac
if [ ! -x "$EXE" ]; then
    echo "install-launcher: $EXE is not an executable file" >&2
    exit 2
fi

case $EXE in *"
"*) echo "install-launcher: a path with a line break cannot go into a launcher: $EXE" >&2; exit 2 ;; esac

# The path as one quoted Exec argument, per the Desktop Entry spec: inside the double quotes
# \ " ` $ each take a backslash, and % doubles (it starts field codes like %f); then the spec's
# string rule doubles every backslash again (so a literal \ ends up as four).
exec_quote() {
    printf '%s' "$1" | sed -e 's/[\\"`$]/\\&/g' -e 's/%/%%/g' -e 's/\\/\\\\/g'
}

mkdir -p "$APPS" "$MIME/packages" "$META"
# awk reads the line from the environment, which (unlike sed's replacement or awk -v) takes
# every character literally: & | \ in a path stay themselves.
EXEC_LINE="Exec=\"$(exec_quote "$EXE")\" %f" \
    awk '/^Exec=/ { print ENVIRON["EXEC_LINE"]; next } { print }' "$HERE/$APP_ID.desktop" > "$APPS/$APP_ID.desktop"
cp "$HERE/$APP_ID.mime.xml" "$MIME/packages/$APP_ID.xml"
cp "$HERE/$APP_ID.metainfo.xml" "$META/$APP_ID.metainfo.xml"
for size in 48x48 128x128 256x256 scalable; do
    mkdir -p "$ICONS/$size/apps"
    cp "$HERE"/icons/hicolor/$size/apps/$APP_ID.* "$ICONS/$size/apps/"
done
refresh
if command -v xdg-mime >/dev/null 2>&1; then
    xdg-mime default "$APP_ID.desktop" application/x-mmstudio-project || true
fi
echo "Installed the MMStudio launcher in $APPS (runs $EXE)"
