"""The AWS deployment: a SAM template (`template.yaml`) and the Lambda handlers it runs (`handlers/`).

The handlers apply the same rules as the local server (`spaceinvaders_backend.core`) to DynamoDB items
through the stores (`session_store`, `seat_store`, `board_store`, `push`, `items`, `config`), which the
manager's console runs too, with its own boto3 clients; `docs/aws.md` fixes the resources, the item
shapes and the manager's calls.
"""
