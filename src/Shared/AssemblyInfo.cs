using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("MmCluster.Shared.Tests")]
