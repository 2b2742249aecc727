"""The files the pipeline writes and reads back, one typed record per format, each with `read` and `write`.

Every stage that reads one of these files reads it through its record here, so a format has one reader.
"""
