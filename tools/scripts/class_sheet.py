#!/usr/bin/python3
"""Side-by-side sample sheets of dataset folders (docs/results/gan-quality.md).

  /usr/bin/python3 tools/scripts/class_sheet.py OUT.png [--tile 64] [--n 4] "TITLE=DIR" ...

One row per ISIC 2019 class (MEL … SCC); for each folder (labels.csv + images/) a panel of the first
n images of the class in labels.csv order, under its title, tiles resized to --tile (bicubic; use the
images' own size for 1:1). Needs Pillow and the DejaVu font (Debian: python3-pil fonts-dejavu-core).
"""
import argparse, csv, os
from PIL import Image, ImageDraw, ImageFont

CLASSES = ["MEL", "NV", "BCC", "AK", "BKL", "DF", "VASC", "SCC"]
ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("panels", nargs="+", help="TITLE=DIR")
ap.add_argument("--tile", type=int, default=64)
ap.add_argument("--n", type=int, default=4)
a = ap.parse_args()


def firsts(d):
    rows = {c: [] for c in CLASSES}
    with open(os.path.join(d, "labels.csv"), newline="") as f:
        r = csv.reader(f)
        head = next(r)
        for row in r:
            v = [float(x) for x in row[1:]]
            c = head[1 + v.index(max(v))]
            if c in rows and len(rows[c]) < a.n:
                rows[c].append(row[0])
    return rows


def path(d, name):
    return next(p for e in (".png", ".jpg", ".jpeg") if os.path.exists(p := os.path.join(d, "images", name + e)))


S, g, G, L, H = a.tile, 2, 14, 44, 22  # tile, gap, gap between panels, label column, header
font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 13)
panels = [p.split("=", 1) for p in a.panels]
width = a.n * (S + g) - g
sheet = Image.new("RGB", (L + len(panels) * (width + G) - G, H + len(CLASSES) * (S + g) - g), "white")
draw = ImageDraw.Draw(sheet)
for k, (title, d) in enumerate(panels):
    x0 = L + k * (width + G)
    draw.text((x0 + width / 2, H / 2), title, font=font, fill="black", anchor="mm")
    for i, (c, names) in enumerate(firsts(d).items()):
        for j, name in enumerate(names):
            with Image.open(path(d, name)) as im:
                sheet.paste(im.convert("RGB").resize((S, S), Image.BICUBIC), (x0 + j * (S + g), H + i * (S + g)))
for i, c in enumerate(CLASSES):
    draw.text((L - 6, H + i * (S + g) + S / 2), c, font=font, fill="black", anchor="rm")
sheet.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(a.out, optimize=True)
print(a.out, os.path.getsize(a.out))
