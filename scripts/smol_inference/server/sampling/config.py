"""The sampler's constants, in one place (the engine's are in engine/config.py, the server's in
server/config.py)."""

#: top-p and typical-p look for the tokens they keep among this many candidates first; only a row
#: whose candidates hold less than top_p (typical_p) of the probability pays for a full-vocabulary sort.
NUCLEUS_CANDIDATES = 1024
