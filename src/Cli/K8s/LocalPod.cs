using System.Text.RegularExpressions;

namespace MmCluster.Cli.K8s;

/// <summary>
/// One pod of the manifests as <c>k8s run-local</c> starts it: the container's entry assembly, arguments and
/// environment, with the pod's cluster facts (pod IP, Service names, mounts) already mapped to this machine.
/// </summary>
/// <param name="Name">Pod name: the Job's name, plus <c>-INDEX</c> in an Indexed Job.</param>
/// <param name="Job">The Job the pod belongs to.</param>
/// <param name="Ip">The pod's address: a loopback address of its own (127.x.y.z), so pods can use the same ports.</param>
/// <param name="EntryAssembly">What the image's ENTRYPOINT runs (<see cref="K8sLayout.Entrypoints"/>).</param>
/// <param name="Args">The container's args, mapped.</param>
/// <param name="Environment">The container's env, resolved (Secrets, ConfigMaps, downward API) and mapped.</param>
/// <param name="BehindService">
/// A Service's selector picks this pod: other pods reach it by the Service's name, which run-local maps to this pod's
/// address, so that address stands in for the Service's stable IP and stays when the pod is recreated.
/// </param>
internal sealed record LocalPod(string Name, string Job, string Ip, string EntryAssembly, IReadOnlyList<string> Args, IReadOnlyDictionary<string, string> Environment, bool BehindService = false)
{
    /// <summary>
    /// The same pod recreated at <paramref name="ip"/>, as a Job's controller recreates a failed pod with a new pod IP:
    /// every value that held the old address (<c>status.podIP</c>, 0.0.0.0) holds the new one.
    /// </summary>
    public LocalPod At(string ip)
    {
        var old = new Regex($@"(?<![\d.]){Regex.Escape(Ip)}(?![\d])", RegexOptions.CultureInvariant);
        string Map(string value) => old.Replace(value, ip);
        return this with
        {
            Ip = ip,
            Args = Args.Select(Map).ToList(),
            Environment = Environment.ToDictionary(kv => kv.Key, kv => Map(kv.Value), StringComparer.Ordinal),
        };
    }
}
