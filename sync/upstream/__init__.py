"""The forwarder: the relay's dossiers delivered to the province's upstream (docs/upstream.md).

No Textual, no screens: ``ccdesk district forward`` and ``ccdesk district upstream …`` drive it.
"""
