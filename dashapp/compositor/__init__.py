"""The Compositor's domain: compositions and their edits, history, recipes, the canvas
figure, image decoding, the upload store, rendering, and ``actions`` (one entry per user
action, answering with the plain data of ``model``).

Plain Python over Pillow; no Dash or Flask here.
"""
