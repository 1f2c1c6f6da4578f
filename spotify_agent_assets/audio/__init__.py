"""Pure logic for the audio landing zone and what is computed from it (no Dagster imports).

The catalogue: ``zone`` lists the zone (local or ``s3://``) and refuses paths that leave it;
``probe`` proves one file is decodable audio and reads its hash, format and duration;
``catalog`` maps files to Spotify tracks and quarantines the rest with a reason.
"""
