"""Input limits, in one place: the package, the CLI and the app all read these.

``.streamlit/config.toml`` repeats ``MAX_UPLOAD_MB`` because Streamlit reads its
own file; a test checks the two agree.
"""

MAX_UPLOAD_MB = 64  # a 200 MP phone JPEG is 30-60 MB
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
# Decoded at full size: PNG, WebP, HEIC, AVIF, TIFF... 50 MP covers 48 MP phone modes, and no more:
# those formats cannot be decoded at a reduced scale, so this is the decompression-bomb limit.
MAX_PIXELS = 50_000_000
# JPEG is decoded at 1/2, 1/4 or 1/8 scale (draft mode) down to about DECODE_TARGET_PIXELS,
# so 108 and 200 MP phone photos cost no more memory than a 12 MP one.
MAX_JPEG_PIXELS = 210_000_000
DECODE_TARGET_PIXELS = 12_000_000
MIN_SIDE = 16  # smaller than this carries no face to judge
MAX_ASPECT = 20.0  # long side / short side; banners and strips are not portraits
MAX_FACES = 8  # per image; the most confident are kept
# A face smaller than this (longer side, px) holds too little to judge: it is never called AI (predictor).
SMALL_FACE_PX = 64
# One text chunk or XMP packet, decompressed (provenance.py reads them; Pillow's PNG reader is held to it too):
# a 5 MB XMP packet is read whole, a decompression bomb is stopped.
MAX_TEXT_BYTES = 8 * 1024 * 1024
# HTTP API (classifier/server.py): per request, on top of MAX_UPLOAD_BYTES per file. Every upload is
# held in memory while it is analysed, so these bound what one request can make the server hold.
MAX_FILES_PER_REQUEST = 32
MAX_REQUEST_MB = 2 * MAX_UPLOAD_MB + 2  # two full-size photos plus the multipart framing
MAX_REQUEST_BYTES = MAX_REQUEST_MB * 1024 * 1024
