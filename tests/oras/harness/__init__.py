"""A real OCI registry for the ``oras://`` tests.

* :mod:`.distribution`: Debian's ``docker-registry`` (CNCF Distribution 2.8.2)
  run as a plain process on loopback, anonymous, with htpasswd (Basic) or with
  token auth;
* :mod:`.tokens`: the token server of the token set-up (JWTs signed ES256 with
  a key whose self-signed certificate the registry trusts);
* :mod:`.cutter`: a TCP proxy that cuts a connection at a chosen point of a
  request, for resume tests.
"""
