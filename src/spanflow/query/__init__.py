"""The query contract shared by the SDK's client and CLI and by the collector.

Records (``records``), the run index store protocol and its dataclasses (``store``), the filter
parser (``params``), the views (``views``), the JSON codec (``codec``), the dataflow graph model
(``graph``), artifact views (``artifacts``), what a replay changed (``replay_changes``), safe
terminal text (``terminal_text``) and the statistics and bundles over runs (``analysis``).
Standard library plus ``spanflow.attributes`` only: it imports nothing of the SDK runtime
(OpenTelemetry, run model, exporters) nor of the collector's servers, so either side can load
it alone. The names users touch are re-exported by ``spanflow.client``.
"""
