"""The Compositor's domain: compositions, image decoding, the upload store, rendering.

Plain Python over Pillow; no Dash or Flask here.
"""
