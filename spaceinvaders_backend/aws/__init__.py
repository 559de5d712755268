"""The AWS deployment: a SAM template (`template.yaml`) and the Lambda handlers it runs (`handlers/`).

The handlers apply the same rules as the local server (`spaceinvaders_backend.core`) to DynamoDB items;
`docs/aws.md` fixes the resources, the item shapes and the manager's boto3 operations.
"""
