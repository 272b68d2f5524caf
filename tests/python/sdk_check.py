"""Drive `kvsync emulator` with Alibaba Cloud's official Python SDKs, unchanged.

Usage: python sdk_check.py HOST:PORT

Two independent clients are used: the classic `aliyun-python-sdk-core` with
`aliyun-python-sdk-r-kvstore` (v1 signature, POST, parameters in the query,
`SignatureType=` empty, `True`/`False` booleans) and the newer Tea client
`alibabacloud_r_kvstore20150101` with `signature_algorithm='v2'` (v1 signature,
lower-case `Format=json`, `+` for spaces, no RegionId added). A third, the official
STS SDK `alibabacloud_sts20150401`, calls AssumeRole and GetCallerIdentity (with the
long-term key and with the issued credentials) and the R-KVStore Tea client then calls
with the issued credentials and their security token. Every check raises
on a mismatch; the script prints one line per step and exits non-zero on failure.
"""

import json
import sys
import time

from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkr_kvstore.request.v20150101 import (
    CreateAccountRequest,
    CreateBackupRequest,
    DescribeBackupsRequest,
    DescribeInstanceSSLRequest,
    ListTagResourcesRequest,
    ModifyInstanceSpecRequest,
    ModifyInstanceSSLRequest,
    TagResourcesRequest,
    CreateInstanceRequest,
    DescribeAccountsRequest,
    DescribeBackupPolicyRequest,
    DescribeInstanceAttributeRequest,
    DescribeInstanceConfigRequest,
    DescribeInstancesRequest,
    DescribeSecurityIpsRequest,
    ModifyBackupPolicyRequest,
    ModifyInstanceAttributeRequest,
    ModifyInstanceConfigRequest,
    ModifySecurityIpsRequest,
)

ENDPOINT = sys.argv[1]
REGION = "cn-hangzhou"
# The role the emulator is started with (`--role ROLE=testid`).
ROLE = "acs:ram::1234567890123456:role/sdk-check"


def step(name):
    print("step:", name, flush=True)


def classic(secret="testsecret"):
    return AcsClient("testid", secret, REGION)


def send(client, request):
    request.set_endpoint(ENDPOINT)
    request.set_protocol_type("http")
    return json.loads(client.do_action_with_exception(request))


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def wait_normal(client, instance_id):
    for _ in range(100):
        request = DescribeInstanceAttributeRequest.DescribeInstanceAttributeRequest()
        request.set_InstanceId(instance_id)
        body = send(client, request)
        attribute = body["Instances"]["DBInstanceAttribute"][0]
        if attribute["InstanceStatus"] == "Normal":
            return attribute
        time.sleep(0.1)
    raise AssertionError("instance %s never became Normal" % instance_id)


def classic_sdk():
    client = classic()

    step("classic: CreateInstance with Token and tags")
    request = CreateInstanceRequest.CreateInstanceRequest()
    request.set_InstanceName("sdk-orders")
    request.set_InstanceClass("redis.master.small.default")
    request.set_ZoneId("cn-hangzhou-h")
    request.set_Token("sdk-token-1")
    request.set_Password("Sdk-Passw0rd")
    request.set_Tags([{"Key": "team", "Value": "sdk"}])
    created = send(client, request)
    instance_id = created["InstanceId"]
    expect(instance_id.startswith("r-"), created)
    expect(isinstance(created["OrderId"], int), "OrderId is an integer in CreateInstance")
    again = send(client, request)
    expect(again["InstanceId"] == instance_id, "same Token, same instance")

    step("classic: DescribeInstances pages and tags")
    request = DescribeInstancesRequest.DescribeInstancesRequest()
    request.set_PageSize(50)
    request.set_Tags([{"Key": "team", "Value": "sdk"}])
    listed = send(client, request)
    instances = listed["Instances"]["KVStoreInstance"]
    expect([i["InstanceId"] for i in instances] == [instance_id], listed)
    expect(instances[0]["Tags"]["Tag"][0] == {"Key": "team", "Value": "sdk"}, instances[0])

    step("classic: DescribeInstanceAttribute returns Config as a JSON string")
    attribute = wait_normal(client, instance_id)
    expect(isinstance(attribute["Config"], str), "Config must be a string")
    expect(isinstance(json.loads(attribute["Config"]), dict), "Config parses as an object")

    step("classic: ModifyInstanceAttribute with a True boolean")
    request = ModifyInstanceAttributeRequest.ModifyInstanceAttributeRequest()
    request.set_InstanceId(instance_id)
    request.set_InstanceReleaseProtection(True)
    send(client, request)
    expect(wait_normal(client, instance_id)["InstanceReleaseProtection"] is True, "protected")

    step("classic: ModifySecurityIps and DescribeSecurityIps")
    request = ModifySecurityIpsRequest.ModifySecurityIpsRequest()
    request.set_InstanceId(instance_id)
    request.set_SecurityIpGroupName("app")
    request.set_SecurityIps("10.0.1.0/24,10.0.2.15")
    send(client, request)
    wait_normal(client, instance_id)
    request = DescribeSecurityIpsRequest.DescribeSecurityIpsRequest()
    request.set_InstanceId(instance_id)
    groups = send(client, request)["SecurityIpGroups"]["SecurityIpGroup"]
    by_name = {g["SecurityIpGroupName"]: g for g in groups}
    expect(set(by_name["app"]["SecurityIpList"].split(",")) == {"10.0.1.0/24", "10.0.2.15"}, by_name)
    expect("ali_dms_group" in by_name and "hdm_security_ips" in by_name, "system groups exist")

    step("classic: CreateAccount and DescribeAccounts")
    request = CreateAccountRequest.CreateAccountRequest()
    request.set_InstanceId(instance_id)
    request.set_AccountName("app_rw")
    request.set_AccountPassword("Acc0unt-Pass")
    request.set_AccountPrivilege("RoleReadWrite")
    request.set_AccountDescription("orders service")
    created = send(client, request)
    expect(created["AccountName"] == "app_rw" and created["AcountName"] == "app_rw", created)
    wait_normal(client, instance_id)
    request = DescribeAccountsRequest.DescribeAccountsRequest()
    request.set_InstanceId(instance_id)
    request.set_AccountName("app_rw")
    accounts = send(client, request)["Accounts"]["Account"]
    expect(len(accounts) == 1, accounts)
    privilege = accounts[0]["DatabasePrivileges"]["DatabasePrivilege"][0]["AccountPrivilege"]
    expect(privilege == "RoleReadWrite", accounts)
    expect(accounts[0]["AccountDescription"] == "orders service", accounts)

    step("classic: ModifyBackupPolicy and DescribeBackupPolicy")
    request = ModifyBackupPolicyRequest.ModifyBackupPolicyRequest()
    request.set_InstanceId(instance_id)
    request.set_PreferredBackupTime("02:00Z-03:00Z")
    request.set_PreferredBackupPeriod("Monday,Wednesday,Friday")
    send(client, request)
    request = DescribeBackupPolicyRequest.DescribeBackupPolicyRequest()
    request.set_InstanceId(instance_id)
    policy = send(client, request)
    expect(policy["PreferredBackupTime"] == "02:00Z-03:00Z", policy)
    expect(set(policy["PreferredBackupPeriod"].split(",")) == {"Monday", "Wednesday", "Friday"}, policy)

    step("classic: ModifyInstanceConfig and DescribeInstanceConfig")
    wait_normal(client, instance_id)
    request = ModifyInstanceConfigRequest.ModifyInstanceConfigRequest()
    request.set_InstanceId(instance_id)
    request.set_Config(json.dumps({"maxmemory-policy": "allkeys-lru", "hash-max-ziplist-entries": 256}))
    send(client, request)
    wait_normal(client, instance_id)
    request = DescribeInstanceConfigRequest.DescribeInstanceConfigRequest()
    request.set_InstanceId(instance_id)
    config = json.loads(send(client, request)["Config"])
    expect(config["maxmemory-policy"] == "allkeys-lru", config)
    expect(str(config["hash-max-ziplist-entries"]) == "256", config)

    step("classic: TagResources and ListTagResources")
    request = TagResourcesRequest.TagResourcesRequest()
    request.set_ResourceType("INSTANCE")
    request.set_ResourceIds([instance_id])
    request.set_Tags([{"Key": "cost-center", "Value": "cc-42"}])
    send(client, request)
    request = ListTagResourcesRequest.ListTagResourcesRequest()
    request.set_ResourceType("INSTANCE")
    request.set_ResourceIds([instance_id])
    tags = send(client, request)["TagResources"]["TagResource"]
    pairs = {(t["TagKey"], t["TagValue"]) for t in tags}
    expect(("cost-center", "cc-42") in pairs and ("team", "sdk") in pairs, tags)

    step("classic: ModifyInstanceSpec with a ClientToken, twice")
    request = ModifyInstanceSpecRequest.ModifyInstanceSpecRequest()
    request.set_InstanceId(instance_id)
    request.set_InstanceClass("redis.master.mid.default")
    request.set_ClientToken("sdk-spec-1")
    first = send(client, request)
    expect(isinstance(first["OrderId"], str), "OrderId is a string in ModifyInstanceSpec")
    again = send(client, request)
    expect(again["OrderId"] == first["OrderId"], "same ClientToken, same order")
    expect(wait_normal(client, instance_id)["InstanceClass"] == "redis.master.mid.default", "resized")

    step("classic: CreateBackup and DescribeBackups")
    request = CreateBackupRequest.CreateBackupRequest()
    request.set_InstanceId(instance_id)
    job = send(client, request)
    expect(isinstance(job["BackupJobID"], str), "BackupJobID is a string in CreateBackup")
    backups = []
    for _ in range(100):
        request = DescribeBackupsRequest.DescribeBackupsRequest()
        request.set_InstanceId(instance_id)
        request.set_StartTime("2000-01-01T00:00Z")
        request.set_EndTime("2100-01-01T00:00Z")
        backups = send(client, request)["Backups"]["Backup"]
        if backups:
            break
        time.sleep(0.1)
    expect(len(backups) == 1 and isinstance(backups[0]["BackupId"], int), backups)

    step("classic: ModifyInstanceSSL and DescribeInstanceSSL")
    request = ModifyInstanceSSLRequest.ModifyInstanceSSLRequest()
    request.set_InstanceId(instance_id)
    request.set_SSLEnabled("Enable")
    send(client, request)
    wait_normal(client, instance_id)
    request = DescribeInstanceSSLRequest.DescribeInstanceSSLRequest()
    request.set_InstanceId(instance_id)
    expect(send(client, request)["SSLEnabled"] == "Enable", "TLS on")

    step("classic: a wrong secret is a ServerException, not a crash")
    request = DescribeInstancesRequest.DescribeInstancesRequest()
    try:
        send(classic("wrong-secret"), request)
        raise AssertionError("a wrong secret was accepted")
    except ServerException as error:
        expect(error.get_http_status() == 400, error)
        expect(error.get_error_code() in ("SignatureDoesNotMatch", "InvalidAccessKeySecret"), error)

    step("classic: an unknown instance is InvalidInstanceId.NotFound")
    request = DescribeInstanceAttributeRequest.DescribeInstanceAttributeRequest()
    request.set_InstanceId("r-doesnotexist0000")
    try:
        send(client, request)
        raise AssertionError("an unknown instance was found")
    except ServerException as error:
        expect(error.get_error_code() == "InvalidInstanceId.NotFound", error)
        expect(error.get_http_status() == 404, error)
        expect(error.get_request_id(), "errors carry a RequestId")


def tea_sdk():
    from alibabacloud_r_kvstore20150101 import models
    from alibabacloud_r_kvstore20150101.client import Client
    from alibabacloud_tea_openapi import models as openapi

    config = openapi.Config(
        access_key_id="testid",
        access_key_secret="testsecret",
        endpoint=ENDPOINT,
        protocol="http",
        region_id=REGION,
        signature_algorithm="v2",
    )
    client = Client(config)

    step("tea: CreateInstance with a VPC and a name containing a space-free dash")
    created = client.create_instance(
        models.CreateInstanceRequest(
            region_id=REGION,
            instance_name="tea-sessions",
            instance_class="redis.master.mid.default",
            network_type="VPC",
            vpc_id="vpc-bp1tea",
            v_switch_id="vsw-bp1tea",
            token="tea-token-1",
            tag=[models.CreateInstanceRequestTag(key="team", value="tea web")],
        )
    ).body
    expect(created.instance_id.startswith("r-"), created)

    step("tea: DescribeInstances decodes into typed models")
    listed = client.describe_instances(
        models.DescribeInstancesRequest(region_id=REGION, instance_ids=created.instance_id)
    ).body
    instance = listed.instances.kvstore_instance[0]
    expect(instance.instance_name == "tea-sessions", instance)
    expect(instance.network_type == "VPC", instance)
    expect(instance.tags.tag[0].value == "tea web", "a space survives + encoding")

    step("tea: DescribeInstanceAttribute")
    attribute = client.describe_instance_attribute(
        models.DescribeInstanceAttributeRequest(instance_id=created.instance_id)
    ).body.instances.dbinstance_attribute[0]
    expect(attribute.instance_id == created.instance_id, attribute)


def sts_sdk():
    from alibabacloud_r_kvstore20150101 import models as kvstore_models
    from alibabacloud_r_kvstore20150101.client import Client as KvstoreClient
    from alibabacloud_sts20150401 import models
    from alibabacloud_sts20150401.client import Client
    from alibabacloud_tea_openapi import models as openapi

    def config(key_id, secret, token=None):
        return openapi.Config(
            access_key_id=key_id,
            access_key_secret=secret,
            security_token=token,
            endpoint=ENDPOINT,
            protocol="http",
            region_id=REGION,
            # The RPC v1 signature (query parameters), as in the Tea check above.
            signature_algorithm="v2",
        )

    step("sts: AssumeRole decodes into the SDK's models")
    assumed = Client(config("testid", "testsecret")).assume_role(
        models.AssumeRoleRequest(
            role_arn=ROLE, role_session_name="sdk-check", duration_seconds=3600
        )
    ).body
    credentials = assumed.credentials
    expect(credentials.access_key_id.startswith("STS."), credentials)
    expect(credentials.access_key_secret and credentials.security_token, credentials)
    expect(credentials.expiration.endswith("Z"), credentials)
    expect(assumed.assumed_role_user.arn == ROLE + "/sdk-check", assumed.assumed_role_user)
    expect(assumed.assumed_role_user.assumed_role_id, assumed.assumed_role_user)
    expect(assumed.request_id, "answers carry a RequestId")

    step("sts: GetCallerIdentity with the long-term key")
    me = Client(config("testid", "testsecret")).get_caller_identity().body
    expect(me.identity_type == "Account", me)
    expect(me.account_id and me.arn and me.principal_id and me.user_id and me.request_id, me)

    step("sts: GetCallerIdentity with the issued credentials")
    issued = config(
        credentials.access_key_id,
        credentials.access_key_secret,
        credentials.security_token,
    )
    role = Client(issued).get_caller_identity().body
    expect(role.identity_type == "AssumedRoleUser", role)
    expect(role.arn.endswith(":assumed-role/sdk-check/sdk-check"), role)
    expect(role.role_id and role.principal_id.startswith(role.role_id), role)

    step("tea: DescribeInstances with the issued credentials")
    listed = KvstoreClient(issued).describe_instances(
        kvstore_models.DescribeInstancesRequest(region_id=REGION)
    ).body
    expect(listed.request_id, listed)


if __name__ == "__main__":
    classic_sdk()
    tea_sdk()
    sts_sdk()
    print("all SDK checks passed", flush=True)
