#!/usr/bin/python3
"""Writes src/Shared/Text/Data/html5-entities.tsv: the HTML standard's named character references as Python's
html.unescape knows them (html.entities.html5, 2,231 names with and without the trailing ';'), one per line:
the name, a tab, the code points in hex separated by spaces. ClipTextCleaner's html.unescape port reads it.

    /usr/bin/python3 bench/html5_entities.py
"""
import html.entities
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "Shared", "Text", "Data", "html5-entities.tsv")

with open(OUT, "w", encoding="ascii", newline="\n") as f:
    for name in sorted(html.entities.html5):
        f.write(name + "\t" + " ".join(f"{ord(c):X}" for c in html.entities.html5[name]) + "\n")
