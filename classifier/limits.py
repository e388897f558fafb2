"""Input limits, in one place: the package, the CLI and the app all read these.

``.streamlit/config.toml`` repeats ``MAX_UPLOAD_MB`` because Streamlit reads its
own file; a test checks the two agree.
"""

MAX_UPLOAD_MB = 20
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
MAX_PIXELS = 40_000_000  # ~8000 x 5000: any phone photo, not a decompression bomb
MIN_SIDE = 16  # smaller than this carries no face to judge
MAX_ASPECT = 20.0  # long side / short side; banners and strips are not portraits
MAX_FACES = 8  # per image; the most confident are kept
