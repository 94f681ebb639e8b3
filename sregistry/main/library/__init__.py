"""Backend for the Sylabs/Apptainer Library API (``library://``, Bearer token).

Also spoken by Singularity Registry Server's ``/v1``/``/v2`` views. The client
lives in :mod:`sregistry.main.library.client`; references in :mod:`.refs`.
"""
