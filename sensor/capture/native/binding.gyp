{
  # The batched libpcap binding of the live capture source (sensor/capture/pcap-live-source.ts).
  # Plain C against node_api.h: no npm package needed. Build: npm run build:native.
  'targets': [
    {
      'target_name': 'pcap_batch',
      'sources': ['pcap_batch.c'],
      'cflags': ['-O2', '-Wall', '-Wextra', '-Wno-unused-parameter'],
      'link_settings': {'libraries': ['-lpcap']},
    },
  ],
}
