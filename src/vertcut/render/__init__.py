"""The one-pass render: a frame range of the master, decoded once, into every output at once.

- :mod:`vertcut.render.source`: decode a frame range (seek, drop, stop), pipe it with timestamps;
  the audio cut at the same instant;
- :mod:`vertcut.render.picture`: what happens to each frame (crop along the camera path, fit, nothing);
- :mod:`vertcut.render.graph`: one ffmpeg command from one source into many outputs;
- :mod:`vertcut.render.episode`: one episode of a series plan rendered into its ladder, masters
  and mezzanine.
"""
