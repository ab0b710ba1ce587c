"""The bundled sample series (media, subtitles, markers, job file), installed as ``vertcut.sample_data``."""
