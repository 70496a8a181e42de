using System;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using TypedRpc.Kafka;

namespace TypedRpc.DevServices;

/// <summary>
/// The few librdkafka entry points the mock cluster needs (rdkafka.h, rdkafka_mock.h), bound to the
/// very library Confluent.Kafka loaded (<see cref="KafkaNativeLibrary.Handle"/>): one librdkafka in
/// the process, whichever file it came from.
/// </summary>
/// <remarks>
/// Each entry point is looked up in that handle on first use and called through an unmanaged
/// function pointer, not a <c>DllImport</c>: an import would go through the runtime's own search
/// for "librdkafka", which under Native AOT does not consult this assembly's import resolver and
/// can bind a system-wide librdkafka instead. The calls pass only pointers and integers (strings
/// as NUL-terminated UTF-8 buffers), so nothing is marshalled. A missing entry point throws
/// <see cref="EntryPointNotFoundException"/> when first called, as an import would.
/// </remarks>
internal static unsafe class NativeMethods
{
    public const int ProducerType = 0;

    private static IntPtr s_library;
    private static IntPtr s_confNew;
    private static IntPtr s_confSet;
    private static IntPtr s_confDestroy;
    private static IntPtr s_new;
    private static IntPtr s_destroy;
    private static IntPtr s_err2str;
    private static IntPtr s_versionStr;
    private static IntPtr s_clusterNew;
    private static IntPtr s_clusterDestroy;
    private static IntPtr s_clusterBootstraps;
    private static IntPtr s_groupInitialRebalanceDelayMs;
    private static IntPtr s_topicCreate;
    private static IntPtr s_brokerSetDown;
    private static IntPtr s_brokerSetUp;
    private static IntPtr s_brokerSetRtt;

    /// <summary>Loads librdkafka (the one Confluent.Kafka uses); the entry points are bound to its handle.</summary>
    public static void Bind() => _ = Library;

    // The handle is the loader's, for the life of the process; racing threads get the same one.
    private static IntPtr Library
    {
        get
        {
            var library = Volatile.Read(ref s_library);
            if (library == IntPtr.Zero)
            {
                library = KafkaNativeLibrary.Handle;
                Volatile.Write(ref s_library, library);
            }

            return library;
        }
    }

    private static IntPtr Export(ref IntPtr slot, string name)
    {
        var address = Volatile.Read(ref slot);
        if (address == IntPtr.Zero)
        {
            address = NativeLibrary.GetExport(Library, name);
            Volatile.Write(ref slot, address);
        }

        return address;
    }

    public static IntPtr rd_kafka_conf_new()
        => ((delegate* unmanaged[Cdecl]<IntPtr>)Export(ref s_confNew, "rd_kafka_conf_new"))();

    public static int rd_kafka_conf_set(IntPtr conf, string name, string value, byte[] errstr, UIntPtr errstrSize)
    {
        var function = (delegate* unmanaged[Cdecl]<IntPtr, byte*, byte*, byte*, UIntPtr, int>)Export(ref s_confSet, "rd_kafka_conf_set");
        fixed (byte* namePtr = Utf8(name))
        fixed (byte* valuePtr = Utf8(value))
        fixed (byte* errstrPtr = errstr)
        {
            return function(conf, namePtr, valuePtr, errstrPtr, errstrSize);
        }
    }

    public static void rd_kafka_conf_destroy(IntPtr conf)
        => ((delegate* unmanaged[Cdecl]<IntPtr, void>)Export(ref s_confDestroy, "rd_kafka_conf_destroy"))(conf);

    public static IntPtr rd_kafka_new(int type, IntPtr conf, byte[] errstr, UIntPtr errstrSize)
    {
        var function = (delegate* unmanaged[Cdecl]<int, IntPtr, byte*, UIntPtr, IntPtr>)Export(ref s_new, "rd_kafka_new");
        fixed (byte* errstrPtr = errstr)
        {
            return function(type, conf, errstrPtr, errstrSize);
        }
    }

    public static void rd_kafka_destroy(IntPtr rk)
        => ((delegate* unmanaged[Cdecl]<IntPtr, void>)Export(ref s_destroy, "rd_kafka_destroy"))(rk);

    public static IntPtr rd_kafka_err2str(int err)
        => ((delegate* unmanaged[Cdecl]<int, IntPtr>)Export(ref s_err2str, "rd_kafka_err2str"))(err);

    public static IntPtr rd_kafka_version_str()
        => ((delegate* unmanaged[Cdecl]<IntPtr>)Export(ref s_versionStr, "rd_kafka_version_str"))();

    public static IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount)
        => ((delegate* unmanaged[Cdecl]<IntPtr, int, IntPtr>)Export(ref s_clusterNew, "rd_kafka_mock_cluster_new"))(rk, brokerCount);

    public static void rd_kafka_mock_cluster_destroy(IntPtr cluster)
        => ((delegate* unmanaged[Cdecl]<IntPtr, void>)Export(ref s_clusterDestroy, "rd_kafka_mock_cluster_destroy"))(cluster);

    public static IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr cluster)
        => ((delegate* unmanaged[Cdecl]<IntPtr, IntPtr>)Export(ref s_clusterBootstraps, "rd_kafka_mock_cluster_bootstraps"))(cluster);

    public static void rd_kafka_mock_group_initial_rebalance_delay_ms(IntPtr cluster, int delayMs)
        => ((delegate* unmanaged[Cdecl]<IntPtr, int, void>)Export(ref s_groupInitialRebalanceDelayMs, "rd_kafka_mock_group_initial_rebalance_delay_ms"))(cluster, delayMs);

    public static int rd_kafka_mock_topic_create(IntPtr cluster, string topic, int partitions, int replicationFactor)
    {
        var function = (delegate* unmanaged[Cdecl]<IntPtr, byte*, int, int, int>)Export(ref s_topicCreate, "rd_kafka_mock_topic_create");
        fixed (byte* topicPtr = Utf8(topic))
        {
            return function(cluster, topicPtr, partitions, replicationFactor);
        }
    }

    public static int rd_kafka_mock_broker_set_down(IntPtr cluster, int brokerId)
        => ((delegate* unmanaged[Cdecl]<IntPtr, int, int>)Export(ref s_brokerSetDown, "rd_kafka_mock_broker_set_down"))(cluster, brokerId);

    public static int rd_kafka_mock_broker_set_up(IntPtr cluster, int brokerId)
        => ((delegate* unmanaged[Cdecl]<IntPtr, int, int>)Export(ref s_brokerSetUp, "rd_kafka_mock_broker_set_up"))(cluster, brokerId);

    public static int rd_kafka_mock_broker_set_rtt(IntPtr cluster, int brokerId, int rttMs)
        => ((delegate* unmanaged[Cdecl]<IntPtr, int, int, int>)Export(ref s_brokerSetRtt, "rd_kafka_mock_broker_set_rtt"))(cluster, brokerId, rttMs);

    public static string ErrorText(int error) => Marshal.PtrToStringUTF8(rd_kafka_err2str(error)) ?? $"error {error}";

    // A NUL-terminated UTF-8 copy, as [MarshalAs(UnmanagedType.LPUTF8Str)] passed it.
    private static byte[] Utf8(string value)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, 0, value.Length, bytes, 0);
        return bytes;
    }
}
