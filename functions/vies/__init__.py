"""VAT number checker: offline format/check digits (python-stdnum), then the EU VIES REST API."""
