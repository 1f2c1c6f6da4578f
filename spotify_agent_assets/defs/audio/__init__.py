"""Audio: the audio landing zone catalogued, analysed, checked for anomalies and classified."""
