from tests.support.moto_server import dynamo_store, moto_endpoint  # noqa: F401
