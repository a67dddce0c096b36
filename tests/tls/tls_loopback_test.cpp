#define BOOST_TEST_MODULE integration_tls
#include <boost/test/unit_test.hpp>
BOOST_AUTO_TEST_CASE(placeholder) {}
