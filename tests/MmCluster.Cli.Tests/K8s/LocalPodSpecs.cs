using MmCluster.Cli.K8s;
using Xunit;

namespace MmCluster.Cli.Tests.K8s;

/// <summary>How <c>k8s run-local</c> recreates a pod: with a new pod IP, as a Job's controller does.</summary>
public sealed class LocalPodSpecs
{
    [Fact]
    public void Should_move_every_value_that_held_the_pod_ip_to_the_new_address_and_leave_other_addresses()
    {
        var pod = new LocalPod("w-1", "w", "127.9.8.3", "mmcluster.dll",
            ["worker", "--host", "127.9.8.3", "--seed", "akka.tcp://mmcluster@127.9.8.1:4053"],
            new Dictionary<string, string>
            {
                ["MMCLUSTER_PUBLIC_HOST"] = "127.9.8.3",
                ["MMCLUSTER_COORDINATOR"] = "akka.tcp://mmcluster@127.9.8.1:4053",
                ["PEERS"] = "127.9.8.30,127.9.8.3:5090,127.9.8.33",
            });

        var recreated = pod.At("127.9.8.7");

        Assert.Equal("127.9.8.7", recreated.Ip);
        Assert.Equal(["worker", "--host", "127.9.8.7", "--seed", "akka.tcp://mmcluster@127.9.8.1:4053"], recreated.Args);
        Assert.Equal("127.9.8.7", recreated.Environment["MMCLUSTER_PUBLIC_HOST"]);
        Assert.Equal("akka.tcp://mmcluster@127.9.8.1:4053", recreated.Environment["MMCLUSTER_COORDINATOR"]);
        Assert.Equal("127.9.8.30,127.9.8.7:5090,127.9.8.33", recreated.Environment["PEERS"]);
        Assert.Equal("127.9.8.3", pod.Environment["MMCLUSTER_PUBLIC_HOST"]); // the planned pod is unchanged
    }

    [Fact]
    public void Should_hand_recreated_pods_the_addresses_after_the_planned_ones_and_wrap_after_254()
    {
        var addresses = new PodAddresses("127.9.8", planned: 251);

        var issued = Enumerable.Range(0, 5).Select(_ => addresses.Next()).ToList();

        Assert.Equal(["127.9.8.252", "127.9.8.253", "127.9.8.254", "127.9.8.252", "127.9.8.253"], issued);
    }
}
