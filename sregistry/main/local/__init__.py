"""The ``local`` backend: the embedded image store behind the Client API."""
