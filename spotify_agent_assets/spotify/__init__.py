"""The Spotify layer: ids, the artist roster, JSON parsing and a retrying catalogue client.

Plain Python on top of spotipy and requests, with no Dagster imports, so every piece can be used
from a test or a notebook. The Dagster resource in `defs/` only builds a `SpotifyCatalogClient`
from configuration. Import from the submodules (`spotify.client`, `spotify.parsing`, ...): this
package deliberately re-exports nothing, so loading the code location does not import spotipy
and requests until a sync actually runs.
"""
