#!/usr/bin/env bash
# Renders an OCR evaluation set: short lines of real English text (the GNU GPL v3 as Debian ships
# it in /usr/share/common-licenses) drawn with ImageMagick in two fonts, one PNG per line, plus
# labels.tsv ("file<TAB>text"). Deterministic: the same lines every time.
# Usage: make_text_lines.sh OUT_DIR [COUNT]
set -euo pipefail
out="$1"
count="${2:-120}"
src=/usr/share/common-licenses/GPL-3
version=1
if [[ -f "$out/.ok" && "$(cat "$out/.ok")" == "$version $count" ]]; then exit 0; fi
rm -rf "$out" && mkdir -p "$out"
# Words of the licence body (skip the preamble), cut into lines of 12-24 characters.
tr -s ' \t\n' '\n\n\n' < "$src" | tr -cd 'A-Za-z0-9.,;:()"\n-' | grep -v '^$' | tail -n +200 |
  awk -v n="$count" '
    { if (length(line) + 1 + length($0) > 24 && length(line) >= 12) { print line; line = ""; if (++k >= n) exit }
      line = (line == "" ? $0 : line " " $0) }' > "$out/lines.txt"
fonts=(DejaVu-Sans DejaVu-Serif)
i=0
: > "$out/labels.tsv"
while IFS= read -r text; do
  f=$(printf '%04d.png' "$i")
  convert -background white -fill black -font "${fonts[$((i % 2))]}" -pointsize 32 label:"$text" \
    -bordercolor white -border 10x8 -colorspace sRGB -type TrueColor "PNG24:$out/$f"
  printf '%s\t%s\n' "$f" "$text" >> "$out/labels.tsv"
  i=$((i + 1))
done < "$out/lines.txt"
echo "$version $count" > "$out/.ok"
echo "make_text_lines: $i lines in $out"
