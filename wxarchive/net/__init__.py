"""The network: the one HTTP client, response decoding, image downloads, routing and host policy."""
