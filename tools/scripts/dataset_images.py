"""The images of a dataset folder (labels.csv + images/) for the analysis scripts beside this one."""
import csv, os
import numpy as np
from PIL import Image


def folder_images(d, size, limit=800):
    """The first `limit` images of folder `d` in labels.csv order, grey, resized to size², in 0..255."""
    names = [r[0] for r in list(csv.reader(open(os.path.join(d, "labels.csv"))))[1:]][:limit]
    for n in names:
        p = next(os.path.join(d, "images", n + e) for e in (".png", ".jpg", ".jpeg")
                 if os.path.exists(os.path.join(d, "images", n + e)))
        yield np.asarray(Image.open(p).convert("L").resize((size, size), Image.BICUBIC), dtype=np.float64)
